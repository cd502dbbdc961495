// The attention explorer: asks the server (same origin only) and draws what the model
// attended to. No library, no request to any other host.
"use strict";

const $ = (id) => document.getElementById(id);
const MAP_NAMES = {
  cross: "cross-attention (output → source)",
  encoder_self: "encoder self-attention",
  decoder_self: "decoder self-attention (causal)",
  self: "self-attention",
};
let info = null;
let shown = null; // the last result: {rows, cols, maps: {name: [layer][head][row][col]}}
let picked = null; // the pixels of the example image last clicked (until the canvas is drawn on)

// A page written to one file (plot --html) carries the model's answers for its sentences
// and asks no server.
const EMBEDDED = (() => {
  const node = document.getElementById("embedded");
  return node ? JSON.parse(node.textContent) : null;
})();

function fromPage(path, body) {
  if (path === "/info") return EMBEDDED.info;
  if (body.images) {
    const wanted = JSON.stringify(body.images[0]);
    const found = EMBEDDED.answers.find((answer) => JSON.stringify(answer.image) === wanted);
    if (!found) {
      throw new Error("this page holds the model's answers for its example images only " +
        "(click one); the explorer of `python -m classify vit serve` classifies any drawing");
    }
    return { results: [found.result] };
  }
  const found = EMBEDDED.answers.find((answer) => answer.text === body.texts[0]);
  if (!found) {
    const held = EMBEDDED.answers.map((answer) => `“${answer.text}”`).join(", ");
    throw new Error(`this page holds the model's answers for ${held} only; ` +
      "the served explorer (`serve --run DIR` of the model's tutorial) answers any sentence");
  }
  return { results: [found.result] };
}

async function api(path, body) {
  if (EMBEDDED) return fromPage(path, body);
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function option(select, value, text) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = text;
  select.appendChild(item);
}

function describe(info) {
  const what = {
    translator: "translator",
    "text-classifier": "text classifier",
    "image-classifier": "image classifier",
  }[info.kind];
  if (info.layers === 1 && info.heads === 1) return `${info.name}: ${what}, one attention`;
  return `${info.name}: ${what}, ${info.layers} layer${info.layers > 1 ? "s" : ""}, ` +
    `${info.heads} head${info.heads > 1 ? "s" : ""} a layer`;
}

async function start() {
  try {
    info = await api("/info");
  } catch (error) {
    return fail(error);
  }
  $("model-line").textContent = describe(info);
  if (info.trained_on) {
    $("trained-on").textContent = info.trained_on;
    $("trained-on").hidden = false;
  }
  const maps = info.kind === "translator" ? info.maps : ["self"];
  for (const name of maps) option($("map"), name, MAP_NAMES[name]);
  $("map").value = maps.includes("cross") ? "cross" : maps[0];
  for (let layer = 0; layer < info.layers; layer++) option($("layer"), layer, `layer ${layer + 1}`);
  $("layer").value = info.layers - 1;
  for (let head = 0; head < info.heads; head++) option($("head"), head, `head ${head + 1}`);
  if (info.heads > 1) {
    option($("head"), "mean", "mean of the heads");
    option($("head"), "all", "all heads at once");
  }
  // One attention (the GRU's): no layer or head to choose.
  $("layer").parentElement.hidden = info.layers === 1;
  $("head").parentElement.hidden = info.heads === 1;
  if (info.kind === "image-classifier") {
    $("image-input").hidden = false;
    setUpCanvas();
  } else {
    $("text-input").hidden = false;
    $("submit").textContent = info.kind === "translator" ? "Translate" : "Classify";
    $("sentence-label").textContent =
      info.kind === "translator" ? "Spanish sentence" : "English sentence";
  }
  if (info.kind === "translator") {
    $("decoding").hidden = false;
    showDecodingFields();
  }
  $("ask").addEventListener("submit", submit);
  $("method").addEventListener("change", showDecodingFields);
  for (const id of ["map", "layer", "head"]) $(id).addEventListener("change", draw);
  showExamples(info.examples || []);
  const wanted = readAddress();
  chooseView(wanted);
  window.addEventListener("hashchange", followAddress);
  if (EMBEDDED) await showEmbedded(wanted.sentence);
  else if (wanted.sentence && info.kind !== "image-classifier") await ask(wanted.sentence);
  else if (info.examples && info.examples.length) await askExample(info.examples[0]);
  document.body.dataset.ready = "true";
}

// Sentences (or images) of the run's own test split to click, the lecture's sentence
// first.
function showExamples(examples) {
  if (!examples.length) return;
  const box = $("examples");
  examples.forEach((example, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    if (typeof example === "string") {
      button.textContent = example;
      if (i === 0 && info.lecture_first) {
        button.classList.add("lecture");
        button.title = "the lecture's sentence";
      }
    } else {
      button.append(thumbnail(example.image));
      button.title = example.label === undefined ? `your image ${example.name}`
        : `a test image labelled ${example.label}`;
      button.setAttribute("aria-label", button.title);
    }
    button.addEventListener("click", () => askExample(example));
    box.append(button);
  });
  box.hidden = false;
}

async function askExample(example) {
  if (typeof example === "string") return ask(example);
  drawImage(example.image);
  picked = example.image;
  return submit(new Event("submit"));
}

async function ask(sentence) {
  $("sentence").value = sentence;
  await submit(new Event("submit"));
}

// The view in the address, #sentence=…&map=…&layer=…&head=…: a link opens that view.
function readAddress() {
  return Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
}

function chooseView(wanted) {
  for (const id of ["map", "layer", "head"]) {
    if ([...$(id).options].some((item) => item.value === wanted[id])) $(id).value = wanted[id];
  }
}

// A link to another view of this page (only the address's #… changed).
async function followAddress() {
  const wanted = readAddress();
  chooseView(wanted);
  if (wanted.sentence && info.kind !== "image-classifier" &&
      wanted.sentence !== $("sentence").value) await ask(wanted.sentence);
  else draw();
}

function writeAddress() {
  if (!info || info.kind === "image-classifier") return;
  const view = new URLSearchParams({
    sentence: $("sentence").value, map: $("map").value, layer: $("layer").value,
    head: $("head").value,
  });
  try {
    history.replaceState(null, "", `#${view}`);
  } catch (error) { // a page some browsers will not let rewrite its address: nothing lost
  }
}

// The page's own sentences: offered in the text box, the first one (or the address's)
// shown at once.
async function showEmbedded(sentence) {
  $("decoding").hidden = true; // greedy answers only
  $("model-line").textContent += " (its answers, saved in this page)";
  if (info.kind === "image-classifier") {
    return info.examples && info.examples.length ? askExample(info.examples[0]) : undefined;
  }
  const list = document.createElement("datalist");
  list.id = "sentences";
  for (const answer of EMBEDDED.answers) option(list, answer.text, answer.text);
  document.body.append(list);
  $("sentence").setAttribute("list", "sentences");
  const held = EMBEDDED.answers.some((answer) => answer.text === sentence);
  await ask(held ? sentence : EMBEDDED.answers[0].text);
}

function showDecodingFields() {
  const method = $("method").value;
  for (const item of document.querySelectorAll(".beam-only")) item.hidden = method !== "beam";
  for (const item of document.querySelectorAll(".sample-only")) item.hidden = method !== "sample";
}

function fail(error) {
  $("error").textContent = error.message || String(error);
  $("error").hidden = false;
}

function number(id) {
  return Number($(id).value);
}

async function submit(event) {
  event.preventDefault();
  $("error").hidden = true;
  document.body.dataset.busy = "true";
  try {
    if (info.kind === "translator") await translate();
    else if (info.kind === "text-classifier") await classifyText();
    else await classifyImage();
  } catch (error) {
    fail(error);
  } finally {
    delete document.body.dataset.busy;
  }
}

async function translate() {
  const request = { texts: [$("sentence").value], attention: true };
  const method = $("method").value;
  if (method === "beam") request.beam = number("beam");
  if (method === "sample") {
    Object.assign(request, {
      temperature: number("temperature"), top_k: number("top-k"), seed: number("seed"),
    });
  }
  const result = (await api("/translate", request)).results[0];
  $("answer").textContent = result.translated ? result.translation
    : "(nothing to translate: no word of the sentence is in the model's vocabulary)";
  $("bars").replaceChildren();
  $("result").hidden = false;
  const output = result.output_tokens;
  const decoderInput = ["[START]", ...output.slice(0, -1)];
  shown = {
    axes: {
      cross: [output, result.source_tokens],
      encoder_self: [result.source_tokens, result.source_tokens],
      decoder_self: [output, decoderInput],
    },
    maps: result.attention,
  };
  draw();
}

async function classifyText() {
  const result = (await api("/classify", { texts: [$("sentence").value], attention: true }))
    .results[0];
  showLabel(result);
  shown = { axes: { self: [result.tokens, result.tokens] }, maps: { self: result.attention } };
  draw();
}

function showLabel(result) {
  $("answer").textContent = result.classified ? `label: ${result.label}`
    : "(nothing to classify: no word of the sentence is in the model's vocabulary)";
  const bars = $("bars");
  bars.replaceChildren();
  for (const [label, p] of Object.entries(result.probabilities)) {
    const row = document.createElement("div");
    row.className = "bar";
    const name = document.createElement("span");
    name.textContent = label;
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    const value = document.createElement("span");
    value.textContent = p.toFixed(3);
    row.append(name, fill, value);
    bars.appendChild(row);
  }
  $("result").hidden = false;
}

// The heatmap of one head (or the mean), or a small one for every head.
function matrixOf(name, layer, head) {
  const heads = shown.maps[name][layer];
  if (head !== "mean") return heads[Number(head)];
  return heads[0].map((row, i) => row.map((_, j) =>
    heads.reduce((sum, h) => sum + h[i][j], 0) / heads.length));
}

function draw() {
  if (!shown) return;
  const name = $("map").value;
  const layer = Number($("layer").value);
  const head = $("head").value;
  const [rows, cols] = shown.axes[name];
  const box = $("heatmap");
  box.replaceChildren();
  box.dataset.map = name;
  box.dataset.layer = layer;
  box.dataset.head = head;
  const which = head === "all" ? "all heads" : head === "mean" ? "the mean of the heads"
    : `head ${Number(head) + 1}`;
  // The decoder's rows are named by the token each step writes; its query is the token
  // before (the decoder's input), which a learner would otherwise read as off by one.
  const rowsAre = name === "cross" || name === "decoder_self"
    ? "each row is the step that writes its token (its query comes from the token before)"
    : "each row is a query";
  const colour = head === "all" ? "each map shaded to its own largest weight"
    : "shaded to the map's largest weight; hover a cell for its number";
  const where = info.layers === 1 && info.heads === 1 ? "" : `, layer ${layer + 1}, ${which}`;
  $("caption").textContent = `${MAP_NAMES[name]}${where}: ` +
    `${rowsAre}, each column a key; a row sums to 1 (${colour}).`;
  $("hint").hidden = head === "all";
  if (head === "all") {
    box.className = "all-heads";
    shown.maps[name][layer].forEach((matrix, h) => {
      const figure = document.createElement("figure");
      figure.append(heatmap(matrix, rows, cols, false));
      const caption = document.createElement("figcaption");
      caption.textContent = `head ${h + 1}`;
      figure.append(caption);
      box.append(figure);
    });
  } else {
    box.className = "";
    box.append(heatmap(matrixOf(name, layer, head), rows, cols, true));
  }
  drawWords(head);
  $("legend").hidden = ![...rows, ...cols].some((token) => token === "[UNK]" ||
    token.startsWith("##"));
  $("view").hidden = false;
  writeAddress();
}

function color(weight) {
  return `hsl(214, 75%, ${(97 - 62 * weight).toFixed(1)}%)`;
}

// Per token: "piece" for a piece of a word the vocabulary never saw whole (a "##" piece
// and the pieces before it back to the word's start), "unknown" for [UNK], else "".
function tokenKinds(tokens) {
  const kinds = tokens.map((token) => (token === "[UNK]" ? "unknown" : ""));
  tokens.forEach((token, i) => {
    if (!token.startsWith("##")) return;
    for (let k = i; k >= 0; k--) {
      kinds[k] = "piece";
      if (!tokens[k].startsWith("##")) break;
    }
  });
  return kinds;
}

function heatmap(matrix, rows, cols, labelled) {
  const grid = document.createElement("div");
  grid.className = labelled ? "grid" : "grid mini";
  grid.style.gridTemplateColumns = labelled ? `auto repeat(${cols.length}, 2.2em)`
    : `repeat(${cols.length}, 1.15em)`;
  const peak = Math.max(1e-9, ...matrix.flat());
  if (labelled) {
    grid.append(document.createElement("span"));
    const kinds = tokenKinds(cols);
    cols.forEach((token, j) => grid.append(label(token, "col", j, kinds[j])));
  }
  const rowKinds = tokenKinds(rows);
  matrix.forEach((row, i) => {
    if (labelled) grid.append(label(rows[i], "row", i, rowKinds[i]));
    row.forEach((weight, j) => {
      const cell = document.createElement("span");
      cell.className = labelled ? "cell" : "mini-cell";
      cell.dataset.row = i;
      cell.dataset.col = j;
      cell.style.background = color(weight / peak);
      cell.title = `${rows[i]} → ${cols[j]}: ${weight.toFixed(3)}`;
      if (labelled) {
        cell.addEventListener("mouseenter", () => highlight(grid, i, j));
        cell.addEventListener("mouseleave", () => highlight(grid, null, null));
      }
      grid.append(cell);
    });
  });
  return grid;
}

function label(token, axis, index, kind) {
  const item = document.createElement("span");
  item.className = `token ${axis}${kind ? ` ${kind}` : ""}`;
  item.dataset.index = index;
  item.textContent = token;
  item.tabIndex = 0;
  const on = () => {
    const grid = item.parentElement;
    highlight(grid, axis === "row" ? index : null, axis === "col" ? index : null);
  };
  item.addEventListener("mouseenter", on);
  item.addEventListener("focus", on);
  item.addEventListener("mouseleave", () => highlight(item.parentElement, null, null));
  return item;
}

// Row i: where query i looks; column j: what looks at key j.
function highlight(grid, row, col) {
  for (const cell of grid.querySelectorAll(".cell")) {
    const inRow = row !== null && Number(cell.dataset.row) === row;
    const inCol = col !== null && Number(cell.dataset.col) === col;
    cell.classList.toggle("lit", inRow || inCol);
    cell.classList.toggle("dim", (row !== null || col !== null) && !inRow && !inCol);
  }
  for (const token of grid.querySelectorAll(".token")) {
    const mine = (token.classList.contains("row") && Number(token.dataset.index) === row) ||
      (token.classList.contains("col") && Number(token.dataset.index) === col);
    token.classList.toggle("lit", mine);
  }
  document.body.dataset.highlight = row === null && col === null ? "" : `${row},${col}`;
  if (row !== null) showLooks(row);
}

// A head view's reading of one query (the first until a token is hovered): the keys
// shaded by its weights.
function drawWords(head) {
  $("words").replaceChildren();
  if (head !== "all") showLooks(0);
}

function showLooks(row) {
  const name = $("map").value;
  const head = $("head").value;
  if (!shown || head === "all") return;
  const matrix = matrixOf(name, Number($("layer").value), head);
  const [rows, cols] = shown.axes[name];
  const words = $("words");
  words.replaceChildren();
  const intro = document.createElement("span");
  intro.className = "intro";
  intro.textContent = `“${rows[row]}” (row ${row + 1}) looks at:`;
  words.append(intro);
  const peak = Math.max(1e-9, ...matrix[row]);
  cols.forEach((token, j) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = token;
    chip.style.background = color(matrix[row][j] / peak);
    if (matrix[row][j] / peak > 0.55) chip.style.color = "white";
    chip.title = matrix[row][j].toFixed(3);
    words.append(chip);
  });
}

// Images: a canvas to draw on (ink bright on dark, as the digits the model learned).
function setUpCanvas() {
  const canvas = $("canvas");
  const context = canvas.getContext("2d");
  const clear = () => {
    context.fillStyle = "black";
    context.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let drawing = false;
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    picked = null;
    context.beginPath();
    context.moveTo(...point(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    context.strokeStyle = "white";
    context.lineWidth = canvas.width / 9;
    context.lineCap = "round";
    context.lineTo(...point(event));
    context.stroke();
  });
  window.addEventListener("pointerup", () => { drawing = false; });
  $("clear").addEventListener("click", () => {
    picked = null;
    clear();
  });
  $("upload").addEventListener("change", () => {
    const file = $("upload").files[0];
    if (!file) return;
    const image = new Image();
    image.onload = () => {
      picked = null;
      clear();
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(image.src);
    };
    image.src = URL.createObjectURL(file);
  });
}

function canvasPixels() {
  const [height, width] = info.image_shape;
  const canvas = $("canvas");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const cellH = canvas.height / height;
  const cellW = canvas.width / width;
  const image = [];
  let total = 0;
  for (let y = 0; y < height; y++) {
    const row = [];
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let py = Math.floor(y * cellH); py < Math.floor((y + 1) * cellH); py++) {
        for (let px = Math.floor(x * cellW); px < Math.floor((x + 1) * cellW); px++) {
          const k = 4 * (py * canvas.width + px);
          sum += (data[k] + data[k + 1] + data[k + 2]) / (3 * 255);
          count++;
        }
      }
      row.push(sum / count);
      total += sum / count;
    }
    image.push(row);
  }
  // Dark ink on a light page (an uploaded scan): turn it to the digits' bright on dark.
  if (total / (height * width) > 0.5) return image.map((row) => row.map((v) => 1 - v));
  return image;
}

// An example image, drawn on a canvas (the big one, or a button's thumbnail).
function drawImage(image, canvas = $("canvas")) {
  const context = canvas.getContext("2d");
  const height = image.length;
  const width = image[0].length;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pixel = image[y][x]; // a number, [grey] or [red, green, blue]
      const [r, g, b] = (Array.isArray(pixel) ? (pixel.length === 3 ? pixel
        : [pixel[0], pixel[0], pixel[0]]) : [pixel, pixel, pixel]).map((v) => Math.round(255 * v));
      context.fillStyle = `rgb(${r},${g},${b})`;
      context.fillRect(x * canvas.width / width, y * canvas.height / height,
        canvas.width / width + 1, canvas.height / height + 1);
    }
  }
}

function thumbnail(image) {
  const canvas = document.createElement("canvas");
  canvas.width = 42;
  canvas.height = 42;
  drawImage(image, canvas);
  return canvas;
}

async function classifyImage() {
  const image = picked || canvasPixels();
  const result = (await api("/classify", { images: [image], attention: true })).results[0];
  showLabel(result);
  const tokens = ["[CLS]", ...result.rollout.map((_, i) => `p${i + 1}`)];
  shown = { axes: { self: [tokens, tokens] }, maps: { self: result.attention } };
  drawRollout(image, result.rollout);
  draw();
}

function drawRollout(image, rollout) {
  const canvas = $("overlay");
  const context = canvas.getContext("2d");
  drawImage(image, canvas);
  const side = Math.round(Math.sqrt(rollout.length));
  const peak = Math.max(...rollout);
  rollout.forEach((weight, i) => {
    const px = (i % side) * canvas.width / side;
    const py = Math.floor(i / side) * canvas.height / side;
    context.fillStyle = `rgba(230, 60, 30, ${(0.6 * weight / peak).toFixed(3)})`;
    context.fillRect(px, py, canvas.width / side, canvas.height / side);
    if (side <= 4) { // few patches: write each one's share
      context.fillStyle = "white";
      context.font = "bold 15px system-ui, sans-serif";
      context.textAlign = "center";
      context.fillText(weight.toFixed(2), px + canvas.width / side / 2,
        py + canvas.height / side / 2 + 5);
    }
  });
  canvas.dataset.patches = rollout.length;
}

start();
