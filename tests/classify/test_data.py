import numpy as np
import pytest

from common.data import DataError
from common.data.classification import (
    ImageSet,
    LabeledTexts,
    generate_order_task,
    load_digits,
    read_labeled_tsv,
    write_labeled_tsv,
)


def test_order_task_is_deterministic_balanced_and_needs_order():
    data = generate_order_task(2000, seed=3)
    assert data.texts == generate_order_task(2000, seed=3).texts
    assert abs(data.labels.mean() - 0.5) < 0.05
    # the same bag of words appears with both labels: order decides
    bags = {}
    for text, label in zip(data.texts, data.labels, strict=True):
        bags.setdefault(tuple(sorted(text.split())), set()).add(int(label))
    assert any(len(labels) == 2 for labels in bags.values())
    assert any(" was " in t and " by " in t for t in data.texts)


def test_tsv_round_trip_and_integer_labels(tmp_path):
    data = generate_order_task(50)
    path = write_labeled_tsv(tmp_path / "task.tsv", data)
    back = read_labeled_tsv(path)
    assert back.texts == data.texts and back.label_names == ["animal", "person"]
    np.testing.assert_array_equal(back.labels, data.labels)
    sst = tmp_path / "sst.tsv"
    sst.write_text("sentence\tlabel\ngood film \t1\nbad film\t0\nfine\t10\n")
    loaded = read_labeled_tsv(sst)
    assert loaded.label_names == ["0", "1", "10"] and loaded.labels.tolist() == [1, 0, 2]


def test_tsv_bad_lines_are_reported_by_number(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("sentence\tlabel\ngood\t1\nno label here\nbad\t0\n\t1\n")
    data = read_labeled_tsv(path)
    assert len(data) == 2 and [n for n, _ in data.malformed] == [3, 5]
    assert "skipped 2 malformed line(s) (3, 5)" in data.report


@pytest.mark.parametrize("content,message", [
    ("text_only\nhello\n", "needs a 'sentence' and a 'label' column"),
    ("sentence\tlabel\n", "no usable"),
    ("sentence\tlabel\na\t1\nb\t1\n", "single label"),
    ("", "empty"),
])
def test_tsv_errors_say_what_to_do(tmp_path, content, message):
    path = tmp_path / "x.tsv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_labeled_tsv(path)
    with pytest.raises(DataError, match="not found"):
        read_labeled_tsv(tmp_path / "missing.tsv")


def test_digits_are_bundled_and_scaled():
    digits = load_digits()
    assert digits.images.shape == (1797, 8, 8, 1) and digits.images.dtype == np.float32
    assert digits.images.min() == 0 and digits.images.max() == 1
    assert sorted(set(digits.labels.tolist())) == list(range(10))


def test_labels_out_of_range_are_one_clear_error():
    with pytest.raises(DataError, match=r"label 10 of example 1 is outside \[0, 10\)"):
        ImageSet(np.zeros([2, 8, 8, 1], np.float32), np.array([3, 10]), list("0123456789"),
                 "test")
    with pytest.raises(DataError, match="outside"):
        LabeledTexts(["a", "b"], np.array([0, -1]), ["no", "yes"])
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        LabeledTexts(["a", "b"], np.array([0]), ["no", "yes"])


def test_unlabeled_text_is_the_first_field_once_each(tmp_path):
    from common.data.classification import read_unlabeled_texts

    path = tmp_path / "pairs.txt"
    path.write_text("Go.\tVe.\tCC-BY\n\nI won!\t¡He ganado!\n  Go.  \tVete.\nplain line\n",
                    encoding="utf-8")
    assert read_unlabeled_texts(path) == ["Go.", "I won!", "plain line"]


@pytest.mark.parametrize("content,message", [
    (b"", "holds no text"), (b"\n \t x\n", "holds no text"), (b"caf\xe9\n", "not UTF-8"),
])
def test_unlabeled_text_errors_say_what_to_do(tmp_path, content, message):
    from common.data.classification import read_unlabeled_texts

    path = tmp_path / "u.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_unlabeled_texts(path)
    with pytest.raises(DataError, match="not found.*one text a line"):
        read_unlabeled_texts(tmp_path / "missing.txt")
