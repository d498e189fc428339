# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
# distutils: extra_compile_args = -ffp-contract=off
"""Compiled core of ``HashedNGrams``: texts to CSR rows of hashed, weighted n-grams (and the
n-gram table's optimizer step, :func:`row_adam_moments` and :func:`row_adam_apply`, which train
the rows they index).

The Python implementation in ``hashing.py`` stays the reference: this one must give the same
matrix bit for bit (tests compare the two, and both with scikit-learn's vectorizer). It exists
because the Python path builds a string object per n-gram and looks it up in a dict, then sorts
the whole batch with numpy; here an n-gram is a slice of the text's UTF-8 bytes, hashed in place,
and each row is counted, weighted and normalized on small C++ vectors. Once the texts' UTF-8 is
at hand the work runs without the GIL, so a server's event loop keeps going meanwhile.
"""

from libc.math cimport sqrt
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.string cimport memcpy
from libcpp.algorithm cimport sort
from libcpp.vector cimport vector

import numpy as np


cdef extern from "Python.h":
    int PyUnicode_READY(object text) except -1
    bint PyUnicode_IS_ASCII(object text)
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_ssize_t PyUnicode_GET_LENGTH(object text)
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    Py_UCS4 PyUnicode_READ(int kind, const void* data, Py_ssize_t index) nogil
    bint Py_UNICODE_ISALNUM(Py_UCS4 ch) nogil
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch) nogil


cdef struct Text:
    int kind
    const void* data  # the code points
    Py_ssize_t length  # in code points
    const uint8_t* utf8  # the same text as ``str.encode("utf-8")`` gives it


cdef struct Spec:
    int64_t buckets
    int word_low, word_high, char_low, char_high
    const float* weight_of  # weight_of[count - 1] == 1 + log(count), computed by numpy
    Py_ssize_t max_count


cdef struct Scratch:
    vector[Py_ssize_t] offsets  # byte offset of each character of the text, and the end
    vector[Py_ssize_t] tokens  # byte start and stop of each word token
    vector[Py_ssize_t] padded  # byte offset of each character of a padded word, and the end
    vector[uint8_t] key  # the bytes of one n-gram or padded word
    vector[int32_t] word_grams, char_grams
    vector[int32_t] word_buckets, char_buckets
    vector[float] word_values, char_values


cdef inline uint32_t _rotl(uint32_t x, int r) noexcept nogil:
    return (x << r) | (x >> (32 - r))


cdef inline int32_t _murmurhash3_32(const uint8_t* key, Py_ssize_t length) noexcept nogil:
    """MurmurHash3_x86_32 with seed 0, as ``sklearn.utils.murmurhash3_32`` (signed)."""
    cdef uint32_t h = 0, k
    cdef uint32_t c1 = 0xCC9E2D51u, c2 = 0x1B873593u
    cdef Py_ssize_t blocks = length // 4, i
    cdef const uint8_t* tail = key + blocks * 4
    for i in range(blocks):
        k = (<uint32_t>key[4 * i] | (<uint32_t>key[4 * i + 1] << 8)
             | (<uint32_t>key[4 * i + 2] << 16) | (<uint32_t>key[4 * i + 3] << 24))
        k = _rotl(k * c1, 15) * c2
        h = _rotl(h ^ k, 13) * 5 + 0xE6546B64u
    k = 0
    if length & 3 >= 3:
        k ^= <uint32_t>tail[2] << 16
    if length & 3 >= 2:
        k ^= <uint32_t>tail[1] << 8
    if length & 3 >= 1:
        k ^= tail[0]
        h ^= _rotl(k * c1, 15) * c2
    h ^= <uint32_t>length
    h ^= h >> 16
    h *= 0x85EBCA6Bu
    h ^= h >> 13
    h *= 0xC2B2AE35u
    h ^= h >> 16
    return <int32_t>h


cdef inline int32_t _bucket(const uint8_t* key, Py_ssize_t length, int64_t buckets) noexcept nogil:
    """``abs(murmurhash3_32(key)) % buckets``, as the Python path computes it."""
    cdef int64_t h = _murmurhash3_32(key, length)
    return <int32_t>((-h if h < 0 else h) % buckets)


cdef inline bint _is_word(Py_UCS4 ch) noexcept nogil:
    """A character of the regex ``\\w`` (what ``re`` matches for ``str`` patterns)."""
    return Py_UNICODE_ISALNUM(ch) or ch == 0x5F  # "_"


cdef inline Py_ssize_t _utf8_width(Py_UCS4 ch) noexcept nogil:
    if ch < 0x80:
        return 1
    if ch < 0x800:
        return 2
    if ch < 0x10000:
        return 3
    return 4


cdef void _word_grams(const Text* text, const Spec* spec, Scratch* s) noexcept nogil:
    """Buckets of the word n-grams: runs of two or more ``\\w`` characters, ``n`` consecutive
    runs joined by single spaces."""
    cdef Py_ssize_t i = 0, start, n, t, j, size, first, last, count
    s.tokens.clear()
    while i < text.length:
        if not _is_word(PyUnicode_READ(text.kind, text.data, i)):
            i += 1
            continue
        start = i
        while i < text.length and _is_word(PyUnicode_READ(text.kind, text.data, i)):
            i += 1
        if i - start >= 2:
            s.tokens.push_back(s.offsets[start])
            s.tokens.push_back(s.offsets[i])
    count = s.tokens.size() // 2
    for n in range(spec.word_low, spec.word_high + 1):
        for t in range(count - n + 1):
            s.key.clear()
            for j in range(t, t + n):
                if j > t:
                    s.key.push_back(32)  # " "
                first = s.tokens[2 * j]
                last = s.tokens[2 * j + 1]
                size = s.key.size()
                s.key.resize(size + last - first)
                memcpy(s.key.data() + size, text.utf8 + first, last - first)
            s.word_grams.push_back(_bucket(s.key.data(), s.key.size(), spec.buckets))


cdef void _char_grams(const Text* text, const Spec* spec, Scratch* s) noexcept nogil:
    """Buckets of the ``char_wb`` n-grams: those of each white-space separated word padded
    with a space on each side. A padded word shorter than ``n`` counts once, whole, and no
    longer n-grams are taken from it."""
    cdef Py_ssize_t i = 0, start, k, n, length, stop, size
    while i < text.length:
        if Py_UNICODE_ISSPACE(PyUnicode_READ(text.kind, text.data, i)):
            i += 1
            continue
        start = i
        while i < text.length and not Py_UNICODE_ISSPACE(PyUnicode_READ(text.kind, text.data, i)):
            i += 1
        size = s.offsets[i] - s.offsets[start]
        s.key.resize(size + 2)
        s.key[0] = 32
        memcpy(s.key.data() + 1, text.utf8 + s.offsets[start], size)
        s.key[size + 1] = 32
        length = i - start + 2  # characters of the padded word
        s.padded.resize(length + 1)
        s.padded[0] = 0
        for k in range(start, i + 1):
            s.padded[k - start + 1] = 1 + s.offsets[k] - s.offsets[start]
        s.padded[length] = size + 2
        for n in range(spec.char_low, spec.char_high + 1):
            for k in range(max(1, length - n + 1)):
                stop = k + n if k + n < length else length
                s.char_grams.push_back(_bucket(s.key.data() + s.padded[k],
                                               s.padded[stop] - s.padded[k], spec.buckets))
            if length <= n:
                break


cdef bint _weigh(vector[int32_t]* grams, const Spec* spec, vector[int32_t]* buckets,
                 vector[float]* values) noexcept nogil:
    """One block of a row: its distinct buckets in order and their weights, ``1 + log(count)``
    scaled to unit L2 norm (float32 squares summed in float64 in bucket order, float32 weights
    divided by the float64 root: the arithmetic of the Python path). False when a count is
    beyond ``spec.weight_of``."""
    cdef Py_ssize_t i = 0, j, n = grams.size()
    cdef double total = 0.0
    cdef float weight
    buckets.clear()
    values.clear()
    sort(grams.begin(), grams.end())
    while i < n:
        j = i + 1
        while j < n and grams[0][j] == grams[0][i]:
            j += 1
        if j - i > spec.max_count:
            return False
        weight = spec.weight_of[j - i - 1]
        buckets.push_back(grams[0][i])
        values.push_back(weight)
        total += <double>(weight * weight)
        i = j
    cdef double norm = sqrt(total)
    for i in range(<Py_ssize_t>values.size()):
        values[0][i] = <float>(<double>values[0][i] / norm)
    return True


cdef void _merge(Scratch* s, vector[int32_t]* indices, vector[float]* data) noexcept nogil:
    """The row's two blocks as one sorted row; a bucket in both gets the sum of the two."""
    cdef Py_ssize_t w = 0, c = 0
    cdef Py_ssize_t words = s.word_buckets.size(), chars = s.char_buckets.size()
    while w < words or c < chars:
        if c == chars or (w < words and s.word_buckets[w] < s.char_buckets[c]):
            indices.push_back(s.word_buckets[w])
            data.push_back(s.word_values[w])
            w += 1
        elif w == words or s.char_buckets[c] < s.word_buckets[w]:
            indices.push_back(s.char_buckets[c])
            data.push_back(s.char_values[c])
            c += 1
        else:
            indices.push_back(s.word_buckets[w])
            data.push_back(s.word_values[w] + s.char_values[c])
            w += 1
            c += 1


cdef bint _rows(const vector[Text]* texts, const Spec* spec, int64_t* indptr,
                vector[int32_t]* indices, vector[float]* data) noexcept nogil:
    cdef Scratch s
    cdef Py_ssize_t row, i
    cdef const Text* text
    for row in range(<Py_ssize_t>texts.size()):
        text = &texts[0][row]
        s.offsets.resize(text.length + 1)
        s.offsets[0] = 0
        for i in range(text.length):
            s.offsets[i + 1] = s.offsets[i] + _utf8_width(
                PyUnicode_READ(text.kind, text.data, i))
        s.word_grams.clear()
        s.char_grams.clear()
        _word_grams(text, spec, &s)
        _char_grams(text, spec, &s)
        if not _weigh(&s.word_grams, spec, &s.word_buckets, &s.word_values):
            return False
        if not _weigh(&s.char_grams, spec, &s.char_buckets, &s.char_values):
            return False
        _merge(&s, indices, data)
        indptr[row + 1] = indices.size()
    return True


def hashed_rows(texts, int64_t buckets, int word_low, int word_high, int char_low,
                int char_high, const float[::1] weight_of):
    """``(indptr, indices, data)`` of the CSR matrix of ``texts``, or None where an n-gram
    occurs in a text more often than ``weight_of`` has weights for (the caller then takes the
    Python path).

    ``weight_of[c - 1]`` must be ``1 + log(c)`` as numpy computes it in float32, so that the
    weights are those of the Python path to the bit. A text that UTF-8 cannot encode (a lone
    surrogate) raises ``UnicodeEncodeError``, as the Python path does.
    """
    cdef tuple held = tuple(texts)  # the texts stay alive while the GIL is released
    cdef list encoded = []  # and so do the UTF-8 copies of the texts that are not ASCII
    cdef Py_ssize_t n = len(held), row, size
    cdef bytes utf8
    cdef vector[Text] items
    items.resize(n)
    for row in range(n):
        text = held[row]
        if not isinstance(text, str):
            raise TypeError(f"texts must be str, not {type(text).__name__}")
        PyUnicode_READY(text)
        items[row].kind = PyUnicode_KIND(text)
        items[row].data = PyUnicode_DATA(text)
        items[row].length = PyUnicode_GET_LENGTH(text)
        if PyUnicode_IS_ASCII(text):  # its characters are its UTF-8 bytes
            items[row].utf8 = <const uint8_t*>PyUnicode_AsUTF8AndSize(text, &size)
        else:  # a copy for this call, not one cached in the str for its whole life
            utf8 = text.encode("utf-8")
            encoded.append(utf8)
            items[row].utf8 = <const uint8_t*><const char*>utf8
    cdef Spec spec
    spec.buckets = buckets
    spec.word_low, spec.word_high = word_low, word_high
    spec.char_low, spec.char_high = char_low, char_high
    spec.weight_of = &weight_of[0]
    spec.max_count = weight_of.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] indptr_view = indptr
    cdef vector[int32_t] indices
    cdef vector[float] data
    cdef bint complete
    with nogil:
        complete = _rows(&items, &spec, &indptr_view[0], &indices, &data)
    if not complete:
        return None
    out_indices = np.empty(indices.size(), dtype=np.int32)
    out_data = np.empty(data.size(), dtype=np.float32)
    cdef int32_t[::1] indices_view = out_indices
    cdef float[::1] data_view = out_data
    if indices.size():
        memcpy(&indices_view[0], indices.data(), indices.size() * sizeof(int32_t))
        memcpy(&data_view[0], data.data(), data.size() * sizeof(float))
    return indptr, out_indices, out_data





cdef extern from *:
    """
    // Row kernels of RowAdam's step, in C++ for ``__restrict__``: with it the compiler knows the
    // rows do not overlap and vectorizes each loop (Cython cannot say so).

    // Adam's moments of one row from its gradient, updated in place and copied to ``numer``
    // and ``square``.
    static inline void lifelong_moments_row(const float* __restrict__ grad,
                                            float* __restrict__ numer, float* __restrict__ square,
                                            float* __restrict__ exp_avg,
                                            float* __restrict__ exp_avg_sq, Py_ssize_t dim,
                                            float keep1, float keep2) {
        for (Py_ssize_t j = 0; j < dim; ++j) {
            const float g = grad[j];
            const float average = (g - exp_avg[j]) * keep1 + exp_avg[j];
            const float squared = (g * g - exp_avg_sq[j]) * keep2 + exp_avg_sq[j];
            exp_avg[j] = average;
            exp_avg_sq[j] = squared;
            numer[j] = average;
            square[j] = squared;
        }
    }

    // The rows of a batch are scattered over a table of 128 MB: ask for the cache lines of a
    // row a few rows ahead while this one is computed (a step waits on memory, not arithmetic).
    static inline void lifelong_prefetch_row(const float* row, Py_ssize_t dim) {
        for (Py_ssize_t j = 0; j < dim; j += 16) __builtin_prefetch(row + j, 1);
    }

    // The table's row moved by its step.
    static inline void lifelong_apply_row(float* __restrict__ param,
                                          const float* __restrict__ numer,
                                          const float* __restrict__ root, Py_ssize_t dim,
                                          float eps, float neg_step) {
        for (Py_ssize_t j = 0; j < dim; ++j)
            param[j] = param[j] + neg_step * (numer[j] / (root[j] + eps));
    }
    """
    void _moments_row "lifelong_moments_row"(
        const float* grad, float* numer, float* square, float* exp_avg, float* exp_avg_sq,
        Py_ssize_t dim, float keep1, float keep2) nogil
    void _prefetch_row "lifelong_prefetch_row"(const float* row, Py_ssize_t dim) nogil
    void _apply_row "lifelong_apply_row"(
        float* param, const float* numer, const float* root, Py_ssize_t dim, float eps,
        float neg_step) nogil


cdef enum:
    AHEAD = 4  # rows prefetched ahead


def row_adam_moments(const int64_t[::1] rows, const float[:, ::1] grads, float[:, ::1] exp_avg,
                     float[:, ::1] exp_avg_sq, float keep1, float keep2, float[:, ::1] numer,
                     float[:, ::1] square):
    """First half of ``RowAdam``'s step on a coalesced sparse gradient (``grads[i]`` is row
    ``rows[i]``'s, each row once): the moments of those rows updated in place and copied to
    ``numer`` and ``square``, bit for bit what the torch path computes.

    Each operation is rounded to float32 as torch's are (no fused multiply-add:
    ``-ffp-contract=off``), and each touched row of both moments is read and written once,
    instead of by the torch path's gathers, scatters, element-wise passes and their temporaries.
    ``keep1`` and ``keep2`` are ``1 - beta``. The square root is left to the caller: torch's
    (MKL's) is not IEEE's correctly rounded one, and the weights must stay torch's.
    """
    cdef Py_ssize_t n = rows.shape[0], dim = grads.shape[1], n_rows = exp_avg.shape[0], i
    if (grads.shape[0] != n or exp_avg_sq.shape[0] != n_rows or exp_avg.shape[1] != dim
            or exp_avg_sq.shape[1] != dim or numer.shape[0] != n or square.shape[0] != n
            or numer.shape[1] != dim or square.shape[1] != dim):
        raise ValueError("rows, grads, moments and buffers disagree in shape")
    _check_rows(rows, n_rows)
    with nogil:
        for i in range(n):
            if i + AHEAD < n:
                _prefetch_row(&exp_avg[rows[i + AHEAD], 0], dim)
                _prefetch_row(&exp_avg_sq[rows[i + AHEAD], 0], dim)
            _moments_row(&grads[i, 0], &numer[i, 0], &square[i, 0], &exp_avg[rows[i], 0],
                         &exp_avg_sq[rows[i], 0], dim, keep1, keep2)


cdef void _check_rows(const int64_t[::1] rows, Py_ssize_t n_rows) except *:
    cdef Py_ssize_t i
    for i in range(rows.shape[0]):
        if not 0 <= rows[i] < n_rows:
            raise IndexError("a gradient row is outside the table")

def row_adam_apply(const int64_t[::1] rows, const float[:, ::1] numer,
                   const float[:, ::1] root, float[:, ::1] param, float eps, float neg_step):
    """Second half of ``RowAdam``'s step: ``param[rows[i]] += neg_step * numer[i] /
    (root[i] + eps)`` (``root`` the square root of :func:`row_adam_moments`'s ``square``),
    rounded as torch's kernels are; ``neg_step`` is minus the bias-corrected step size."""
    cdef Py_ssize_t n = rows.shape[0], dim = param.shape[1], i
    if numer.shape[0] != n or root.shape[0] != n or numer.shape[1] != dim or root.shape[1] != dim:
        raise ValueError("rows, numer, root and param disagree in shape")
    _check_rows(rows, param.shape[0])
    with nogil:
        for i in range(n):
            if i + AHEAD < n:
                _prefetch_row(&param[rows[i + AHEAD], 0], dim)
            _apply_row(&param[rows[i], 0], &numer[i, 0], &root[i, 0], dim, eps, neg_step)
