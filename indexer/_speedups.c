/* The indexer's optional compiled speed-ups (see indexer/native.py).
 *
 * Three of the reading thread's per-log steps, each the exact equal of a Python function that
 * stays the reference: parsing eth_getLogs answers (decode.log_from_rpc), reading events whose data
 * is static words (the readers decode._event_abi builds) and a block's integrity digest
 * (digest.next_digest, with its own keccak-256). Each handles the common case, well-formed
 * lower-case hex in exact str objects, and hands anything else to the Python function (or returns
 * None so its caller does), so results and errors are the Python code's, byte for byte; the tests
 * compare the two on random and mutated input.
 *
 * Nothing here lets go of the interpreter lock: each call is short, and taking the lock back after
 * every call is what costs the indexer's threads (see docs/benchmarks.md).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

/* ---- configuration: the Python objects the functions need (configure()) ---------------------- */

static PyTypeObject *log_type = NULL; /* decode.Log */
static PyObject *checksum_fn = NULL;  /* decode.checksum (cached EIP-55) */
static PyObject *bad_word = NULL;     /* decode._BadWord */

#define LOG_FIELDS 8
enum { F_BLOCK_NUMBER, F_BLOCK_HASH, F_TX_HASH, F_TX_INDEX, F_LOG_INDEX, F_ADDRESS, F_TOPICS, F_DATA };

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *type, *checksum, *bad;
    if (!PyArg_ParseTuple(args, "O!OO:configure", &PyType_Type, &type, &checksum, &bad))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "configure: the log type must be a tuple subclass");
        return NULL;
    }
    Py_XSETREF(log_type, (PyTypeObject *)Py_NewRef(type));
    Py_XSETREF(checksum_fn, Py_NewRef(checksum));
    Py_XSETREF(bad_word, Py_NewRef(bad));
    Py_RETURN_NONE;
}

static int configured(void) {
    if (log_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "indexer._speedups: configure() was not called");
        return 0;
    }
    return 1;
}

/* ---- hex ----------------------------------------------------------------------------------- */

/* 0-15 for a hex digit (either case), 16 for a lower-case-only check failure marker, 255 else. */
static uint8_t HEX[256];

static void init_hex(void) {
    memset(HEX, 255, sizeof HEX);
    for (int c = '0'; c <= '9'; c++)
        HEX[c] = (uint8_t)(c - '0');
    for (int c = 'a'; c <= 'f'; c++)
        HEX[c] = (uint8_t)(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; c++)
        HEX[c] = (uint8_t)(c - 'A' + 10);
}

/* Whether s[0:n] are all hex digits. */
static int all_hex(const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (HEX[(uint8_t)s[i]] > 15)
            return 0;
    return 1;
}

/* The UTF-8 (= ASCII) bytes of an exact, ASCII-only str, else NULL (no exception set). */
static const char *ascii_of(PyObject *o, Py_ssize_t *n) {
    if (!PyUnicode_CheckExact(o) || !PyUnicode_IS_ASCII(o))
        return NULL;
    *n = PyUnicode_GET_LENGTH(o);
    return (const char *)PyUnicode_1BYTE_DATA(o);
}

/* s[0:n] (hex digits, any count up to 64) as a Python int, or its decimal text with `as_text`. */
static PyObject *hex_value(const char *s, Py_ssize_t n, int as_text) {
    Py_ssize_t skip = 0;
    while (skip < n - 16 && s[skip] == '0')
        skip++;
    if (n - skip <= 16) {
        uint64_t v = 0;
        for (Py_ssize_t i = skip; i < n; i++)
            v = (v << 4) | HEX[(uint8_t)s[i]];
        if (!as_text)
            return PyLong_FromUnsignedLongLong(v);
        char text[24];
        int len = snprintf(text, sizeof text, "%llu", (unsigned long long)v);
        return PyUnicode_FromStringAndSize(text, len);
    }
    char buf[72];
    if (n > 64)
        return NULL; /* callers never pass more */
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    PyObject *value = PyLong_FromString(buf, NULL, 16);
    if (value == NULL || !as_text)
        return value;
    PyObject *text = PyObject_Str(value);
    Py_DECREF(value);
    return text;
}

/* ---- logs_from_rpc ------------------------------------------------------------------------ */

/* int(value, 16) for "0x" + 1..16 hex digits; NULL without an exception for anything else. */
static PyObject *quantity(PyObject *value) {
    Py_ssize_t n;
    const char *s = ascii_of(value, &n);
    if (s == NULL || n < 3 || n > 18 || s[0] != '0' || s[1] != 'x' || !all_hex(s + 2, n - 2))
        return NULL;
    return hex_value(s + 2, n - 2, 0);
}

/* value.lower() for an exact ASCII str (the same object when it has no upper-case letter); NULL
 * without an exception for anything else. */
static PyObject *lower(PyObject *value) {
    Py_ssize_t n;
    const char *s = ascii_of(value, &n);
    if (s == NULL)
        return NULL;
    Py_ssize_t i = 0;
    while (i < n && !(s[i] >= 'A' && s[i] <= 'Z'))
        i++;
    if (i == n)
        return Py_NewRef(value);
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL)
        return NULL;
    char *d = (char *)PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t k = 0; k < n; k++)
        d[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (char)(s[k] + 32) : s[k];
    return out;
}

/* One eth_getLogs result as a Log; NULL without an exception when it is not the common case. */
static PyObject *one_log(PyObject *raw) {
    static const char *keys[LOG_FIELDS] = {"blockNumber",     "blockHash", "transactionHash", "transactionIndex",
                                           "logIndex",        "address",   "topics",          "data"};
    if (!PyDict_CheckExact(raw))
        return NULL;
    PyObject *item[LOG_FIELDS];
    for (int k = 0; k < LOG_FIELDS; k++) {
        item[k] = PyDict_GetItemString(raw, keys[k]); /* borrowed */
        if (item[k] == NULL)
            return NULL;
    }
    PyObject *topics_in = item[F_TOPICS];
    if (!PyList_CheckExact(topics_in))
        return NULL;
    PyObject *out = log_type->tp_alloc(log_type, LOG_FIELDS);
    if (out == NULL)
        return NULL;
    /* The fields read as they are: numbers (int(value, 16)) and hex (value.lower()). */
    static const struct {
        int field;
        PyObject *(*read)(PyObject *);
    } PLAIN[] = {{F_BLOCK_NUMBER, quantity}, {F_BLOCK_HASH, lower}, {F_TX_HASH, lower},
                 {F_TX_INDEX, quantity},     {F_LOG_INDEX, quantity}, {F_DATA, lower}};
    PyObject *v;
    for (size_t k = 0; k < sizeof PLAIN / sizeof PLAIN[0]; k++) {
        if ((v = PLAIN[k].read(item[PLAIN[k].field])) == NULL)
            goto fail;
        PyTuple_SET_ITEM(out, PLAIN[k].field, v);
    }
    Py_ssize_t count = PyList_GET_SIZE(topics_in);
    PyObject *topics = PyTuple_New(count);
    if (topics == NULL)
        goto fail;
    PyTuple_SET_ITEM(out, F_TOPICS, topics);
    for (Py_ssize_t i = 0; i < count; i++) {
        if ((v = lower(PyList_GET_ITEM(topics_in, i))) == NULL)
            goto fail;
        PyTuple_SET_ITEM(topics, i, v);
    }
    /* Last: the only step that runs Python code (the cached checksum). */
    if (ascii_of(item[F_ADDRESS], &count) == NULL)
        goto fail;
    if ((v = PyObject_CallOneArg(checksum_fn, item[F_ADDRESS])) == NULL)
        goto fail;
    PyTuple_SET_ITEM(out, F_ADDRESS, v);
    return out;
fail:
    Py_DECREF(out); /* unset items are NULL, which tuple deallocation skips */
    return NULL;
}

static PyObject *logs_from_rpc(PyObject *self, PyObject *args) {
    PyObject *raws, *fallback;
    if (!PyArg_ParseTuple(args, "OO:logs_from_rpc", &raws, &fallback) || !configured())
        return NULL;
    PyObject *seq = PySequence_Fast(raws, "logs_from_rpc: expected a sequence of logs");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *raw = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *log = one_log(raw);
        if (log == NULL) {
            if (PyErr_Occurred()) /* the checksum's own error, or no memory: as Python raises it */
                goto fail;
            log = PyObject_CallOneArg(fallback, raw);
            if (log == NULL)
                goto fail;
        }
        PyList_SET_ITEM(out, i, log);
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

/* ---- reading static event data --------------------------------------------------------------- */

/* Step kinds (indexer/native.py names them): a Python reader's call; a uint data word; an address
 * data word; an address topic; a uint topic. */
enum { K_CALL = 0, K_UINT = 1, K_ADDRESS = 2, K_TOPIC_ADDRESS = 3, K_TOPIC_UINT = 4 };

/* A plan step: one argument, from a topic (topic > 0) or the data word at `offset`. */
typedef struct {
    PyObject *name;
    Py_ssize_t topic, offset;
    int kind, bits, as_text;
    PyObject *reader, *type_string;
} Step;

/* checksum("0x" + hex[:n]) for n <= 40: the cached EIP-55 form of an address. */
static PyObject *checksum_of(const char *hex, Py_ssize_t n) {
    char buf[42] = {'0', 'x'};
    memcpy(buf + 2, hex, (size_t)n);
    PyObject *text = PyUnicode_FromStringAndSize(buf, n + 2);
    if (text == NULL)
        return NULL;
    PyObject *v = PyObject_CallOneArg(checksum_fn, text);
    Py_DECREF(text);
    return v;
}

/* The value of one step, or NULL: with an exception set (the value is refused, as Python would),
 * or without one (not the common case: the caller hands the whole read to Python). */
static PyObject *step_value(const Step *st, PyObject *topics, const char *data, Py_ssize_t size) {
    if (st->topic > 0) {
        if (st->topic >= PyTuple_GET_SIZE(topics))
            return NULL;
        PyObject *topic = PyTuple_GET_ITEM(topics, st->topic);
        Py_ssize_t n;
        const char *s = ascii_of(topic, &n);
        if (s == NULL)
            return NULL;
        if (st->kind == K_TOPIC_ADDRESS) /* checksum("0x" + topic[-40:]) */
            return checksum_of(n < 40 ? s : s + n - 40, n < 40 ? n : 40);
        if (st->kind == K_TOPIC_UINT) { /* int(topic, 16), as text when wide */
            if (n < 3 || n > 66 || s[0] != '0' || s[1] != 'x' || !all_hex(s + 2, n - 2))
                return NULL;
            return hex_value(s + 2, n - 2, st->as_text);
        }
        return PyObject_CallOneArg(st->reader, topic);
    }
    if (st->offset + 64 > size)
        return NULL;
    const char *w = data + st->offset;
    if (st->kind == K_CALL) {
        PyObject *word = PyUnicode_FromStringAndSize(w, 64);
        if (word == NULL)
            return NULL;
        PyObject *v = PyObject_CallOneArg(st->reader, word);
        Py_DECREF(word);
        return v;
    }
    if (!all_hex(w, 64))
        return NULL; /* int() would refuse or read it otherwise: Python says how */
    if (st->kind == K_ADDRESS) {
        for (int i = 0; i < 24; i++)
            if (w[i] != '0') {
                PyErr_SetObject(bad_word, st->type_string);
                return NULL;
            }
        return checksum_of(w + 24, 40); /* checksum("0x" + word[24:]) */
    }
    /* K_UINT: refuse a value of `bits` or more bits, as the Python reader does. */
    int high = (256 - st->bits) / 4; /* leading digits that must be zero */
    for (int i = 0; i < high; i++)
        if (w[i] != '0') {
            PyErr_SetObject(bad_word, st->type_string);
            return NULL;
        }
    if (st->bits % 4 && HEX[(uint8_t)w[high]] >> (st->bits % 4)) {
        PyErr_SetObject(bad_word, st->type_string);
        return NULL;
    }
    return hex_value(w, 64, st->as_text);
}

/* Reader(plan, fallback): called with (topics, data), the arguments `fallback(topics, data)`
 * returns, read here when the topics and data are plain hex. `plan`: a tuple of steps
 * (name, topic index or -1, data offset, kind, bits, as_text, reader, ABI type). */
typedef struct {
    PyObject_HEAD
    PyObject *plan, *fallback;
    Py_ssize_t count;
    Step steps[1];
} Reader;

static void reader_dealloc(Reader *self) {
    Py_XDECREF(self->plan);
    Py_XDECREF(self->fallback);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *reader_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *plan, *fallback;
    if (!PyArg_ParseTuple(args, "O!O:Reader", &PyTuple_Type, &plan, &fallback))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(plan);
    Reader *self = (Reader *)PyObject_Malloc(sizeof(Reader) + (size_t)count * sizeof(Step));
    if (self == NULL)
        return PyErr_NoMemory();
    PyObject_Init((PyObject *)self, type);
    self->plan = Py_NewRef(plan); /* keeps the steps' borrowed objects alive */
    self->fallback = Py_NewRef(fallback);
    self->count = count;
    for (Py_ssize_t i = 0; i < count; i++) {
        Step *st = &self->steps[i];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(plan, i), "UnniiiOU:plan step", &st->name, &st->topic, &st->offset,
                              &st->kind, &st->bits, &st->as_text, &st->reader, &st->type_string)) {
            Py_DECREF(self);
            return NULL;
        }
        if (st->kind < K_CALL || st->kind > K_TOPIC_UINT || st->bits < 1 || st->bits > 256 ||
            (st->kind == K_UINT && st->topic > 0) || ((st->kind == K_TOPIC_ADDRESS || st->kind == K_TOPIC_UINT) && st->topic <= 0)) {
            PyErr_Format(PyExc_ValueError, "Reader: bad plan step %zd", i);
            Py_DECREF(self);
            return NULL;
        }
    }
    return (PyObject *)self;
}

static PyObject *reader_call(Reader *self, PyObject *args, PyObject *kwargs) {
    PyObject *topics, *data;
    if (!PyArg_ParseTuple(args, "OO:Reader", &topics, &data) || !configured())
        return NULL;
    Py_ssize_t size;
    const char *text = ascii_of(data, &size);
    if (text == NULL || !PyTuple_Check(topics))
        return PyObject_CallFunctionObjArgs(self->fallback, topics, data, NULL);
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < self->count; i++) {
        PyObject *v = step_value(&self->steps[i], topics, text, size);
        if (v == NULL) {
            Py_DECREF(out);
            if (PyErr_Occurred())
                return NULL;
            return PyObject_CallFunctionObjArgs(self->fallback, topics, data, NULL);
        }
        int err = PyDict_SetItem(out, self->steps[i].name, v);
        Py_DECREF(v);
        if (err < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

static PyMemberDef reader_members[] = {
    {"fallback", T_OBJECT, offsetof(Reader, fallback), READONLY, "the Python reader this one equals"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "indexer._speedups.Reader",
    .tp_basicsize = sizeof(Reader),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_call = (ternaryfunc)reader_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reader(plan, fallback): a static event's arguments from (topics, data).",
    .tp_new = reader_new,
    .tp_members = reader_members,
};

/* ---- keccak-256 ----------------------------------------------------------------------------- */

static const uint64_t ROUND[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};
/* rho: the rotation of lane (x, y), as ROT[x][y] */
static const int ROT[5][5] = {
    {0, 36, 3, 41, 18}, {1, 44, 10, 45, 2}, {62, 6, 43, 15, 61}, {28, 55, 25, 21, 56}, {27, 20, 39, 8, 14},
};

#define ROTL(v, n) ((n) ? (((v) << (n)) | ((v) >> (64 - (n)))) : (v))

/* Keccak-f[1600] on lanes a[x + 5y]; loops of constant bounds the compiler unrolls. */
static void keccak_f(uint64_t a[25]) {
    uint64_t b[25], c[5], d[5];
    for (int round = 0; round < 24; round++) {
        for (int x = 0; x < 5; x++) /* theta */
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ ROTL(c[(x + 1) % 5], 1);
        for (int x = 0; x < 5; x++) /* rho and pi: lane (x, y) moves to (y, 2x + 3y) */
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = ROTL(a[x + 5 * y] ^ d[x], ROT[x][y]);
        for (int y = 0; y < 25; y += 5) /* chi */
            for (int x = 0; x < 5; x++)
                a[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
        a[0] ^= ROUND[round]; /* iota */
    }
}

#define RATE 136 /* keccak-256: 1088-bit rate */

typedef struct {
    uint64_t a[25];
    uint8_t block[RATE];
    int fill;
} Keccak;

static void absorb_block(Keccak *k) {
    for (int i = 0; i < RATE / 8; i++) {
        uint64_t lane;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&lane, k->block + 8 * i, 8);
#else
        lane = 0;
        for (int b = 7; b >= 0; b--)
            lane = (lane << 8) | k->block[8 * i + b];
#endif
        k->a[i] ^= lane;
    }
    keccak_f(k->a);
    k->fill = 0;
}

static inline void absorb_byte(Keccak *k, uint8_t byte) {
    k->block[k->fill++] = byte;
    if (k->fill == RATE)
        absorb_block(k);
}

/* Absorb the bytes a run of hex digits spells (n even, all digits checked). */
static void absorb_hex(Keccak *k, const char *s, Py_ssize_t n) {
    Py_ssize_t bytes = n / 2;
    while (bytes > 0) {
        Py_ssize_t take = RATE - k->fill;
        if (take > bytes)
            take = bytes;
        uint8_t *out = k->block + k->fill;
        for (Py_ssize_t i = 0; i < take; i++)
            out[i] = (uint8_t)(HEX[(uint8_t)s[2 * i]] << 4 | HEX[(uint8_t)s[2 * i + 1]]);
        s += 2 * take;
        bytes -= take;
        k->fill += (int)take;
        if (k->fill == RATE)
            absorb_block(k);
    }
}

static void absorb_be(Keccak *k, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--)
        absorb_byte(k, (uint8_t)(v >> (8 * i)));
}

static void finish(Keccak *k, uint8_t out[32]) {
    /* Keccak's own padding (0x01 ... 0x80), as Ethereum uses, not SHA-3's 0x06 */
    memset(k->block + k->fill, 0, (size_t)(RATE - k->fill));
    k->block[k->fill] ^= 0x01;
    k->block[RATE - 1] ^= 0x80;
    absorb_block(k);
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(k->a[i / 8] >> (8 * (i % 8)));
}

static PyObject *keccak256(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Keccak k = {{0}, {0}, 0};
    const uint8_t *p = view.buf;
    for (Py_ssize_t left = view.len; left > 0;) {
        Py_ssize_t take = RATE - k.fill;
        if (take > left)
            take = left;
        memcpy(k.block + k.fill, p, (size_t)take);
        p += take;
        left -= take;
        k.fill += (int)take;
        if (k.fill == RATE)
            absorb_block(&k);
    }
    PyBuffer_Release(&view);
    uint8_t out[32];
    finish(&k, out);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

/* ---- the block digest ------------------------------------------------------------------------ */

/* "0x" + an even count of hex digits: the digits and their count, else NULL. */
static const char *hex_field(PyObject *o, Py_ssize_t *n) {
    const char *s = ascii_of(o, n);
    if (s == NULL || *n < 2 || s[0] != '0' || s[1] != 'x' || (*n & 1) || !all_hex(s + 2, *n - 2))
        return NULL;
    *n -= 2;
    return s + 2;
}

/* An int in [0, 2**64) as uint64, else 0 (not the common case). */
static int small_uint(PyObject *o, uint64_t *v) {
    if (!PyLong_CheckExact(o))
        return 0;
    int overflow = 0;
    long long signed_value = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
        if (signed_value < 0)
            return 0;
        *v = (uint64_t)signed_value;
        return 1;
    }
    if (overflow < 0)
        return 0;
    *v = PyLong_AsUnsignedLongLong(o);
    if (*v == (uint64_t)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* next_digest(previous, number, block_hash, logs): digest.next_digest's value, or None when an
 * input is not the common case (the caller then runs the Python function). */
static PyObject *next_digest(PyObject *self, PyObject *args) {
    PyObject *previous, *number_obj, *block_hash, *logs;
    if (!PyArg_ParseTuple(args, "OOOO:next_digest", &previous, &number_obj, &block_hash, &logs) || !configured())
        return NULL;
    PyObject *seq = PySequence_Fast(logs, "next_digest: expected a sequence of logs");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq), n;
    uint64_t number;
    const char *s;
    Keccak k = {{0}, {0}, 0};
    /* Check everything before hashing anything: a refusal must not cost a half-done hash. */
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *log = PySequence_Fast_GET_ITEM(seq, i);
        uint64_t index;
        if (Py_TYPE(log) != log_type || !hex_field(PyTuple_GET_ITEM(log, F_ADDRESS), &n) ||
            !hex_field(PyTuple_GET_ITEM(log, F_TX_HASH), &n) || !small_uint(PyTuple_GET_ITEM(log, F_LOG_INDEX), &index))
            goto not_common;
        PyObject *topics = PyTuple_GET_ITEM(log, F_TOPICS);
        if (!PyTuple_CheckExact(topics) || PyTuple_GET_SIZE(topics) > 255)
            goto not_common;
        for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(topics); t++)
            if (!hex_field(PyTuple_GET_ITEM(topics, t), &n))
                goto not_common;
        if (!hex_field(PyTuple_GET_ITEM(log, F_DATA), &n) || n / 2 > 0xffffffffLL)
            goto not_common;
    }
    if (!small_uint(number_obj, &number))
        goto not_common;
    if ((s = hex_field(previous, &n)) == NULL)
        goto not_common;
    absorb_hex(&k, s, n);
    absorb_be(&k, number, 8);
    if ((s = hex_field(block_hash, &n)) == NULL)
        goto not_common;
    absorb_hex(&k, s, n);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *log = PySequence_Fast_GET_ITEM(seq, i);
        uint64_t index;
        s = hex_field(PyTuple_GET_ITEM(log, F_ADDRESS), &n);
        absorb_hex(&k, s, n);
        s = hex_field(PyTuple_GET_ITEM(log, F_TX_HASH), &n);
        absorb_hex(&k, s, n);
        small_uint(PyTuple_GET_ITEM(log, F_LOG_INDEX), &index);
        absorb_be(&k, index, 8);
        PyObject *topics = PyTuple_GET_ITEM(log, F_TOPICS);
        absorb_be(&k, (uint64_t)PyTuple_GET_SIZE(topics), 1);
        for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(topics); t++) {
            s = hex_field(PyTuple_GET_ITEM(topics, t), &n);
            absorb_hex(&k, s, n);
        }
        s = hex_field(PyTuple_GET_ITEM(log, F_DATA), &n);
        absorb_be(&k, (uint64_t)(n / 2), 4);
        absorb_hex(&k, s, n);
    }
    Py_DECREF(seq);
    uint8_t digest[32];
    finish(&k, digest);
    static const char DIGITS[] = "0123456789abcdef";
    char text[66] = {'0', 'x'};
    for (int i = 0; i < 32; i++) {
        text[2 + 2 * i] = DIGITS[digest[i] >> 4];
        text[3 + 2 * i] = DIGITS[digest[i] & 15];
    }
    return PyUnicode_FromStringAndSize(text, 66);
not_common:
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

/* ---- event rows ------------------------------------------------------------------------------ */

/* The decoded (name, arguments) of a log, as decode.decode_log returns them: read here by the
 * event's own reader when `table` (topic0 -> ((topic count, name, reader, data length or -1), ...))
 * has one and the data has its length, else (and when the reader refuses the words) by decode_log. */
static PyObject *decoded(PyObject *log, PyObject *table, PyObject *decode_log) {
    PyObject *topics = PyTuple_GET_ITEM(log, F_TOPICS), *data = PyTuple_GET_ITEM(log, F_DATA);
    if (PyTuple_CheckExact(topics) && PyTuple_GET_SIZE(topics) > 0 && PyUnicode_CheckExact(data)) {
        PyObject *events = PyDict_GetItemWithError(table, PyTuple_GET_ITEM(topics, 0)); /* borrowed */
        if (events == NULL && PyErr_Occurred())
            return NULL;
        if (events != NULL && !PyTuple_Check(events)) {
            PyErr_SetString(PyExc_TypeError, "event_rows: the table maps topic0 to a tuple of events");
            return NULL;
        }
        for (Py_ssize_t i = 0; events != NULL && i < PyTuple_GET_SIZE(events); i++) {
            PyObject *entry = PyTuple_GET_ITEM(events, i);
            if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 4) {
                PyErr_SetString(PyExc_TypeError, "event_rows: an event is (topic count, name, reader, data length)");
                return NULL;
            }
            Py_ssize_t wanted = PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 0));
            if (wanted == -1 && PyErr_Occurred())
                return NULL;
            if (wanted != PyTuple_GET_SIZE(topics))
                continue;
            Py_ssize_t length = PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 3));
            if (length == -1 && PyErr_Occurred())
                return NULL;
            if (length >= 0 && length != PyUnicode_GET_LENGTH(data))
                break;
            PyObject *args = PyObject_CallFunctionObjArgs(PyTuple_GET_ITEM(entry, 2), topics, data, NULL);
            if (args == NULL) {
                if (!PyErr_ExceptionMatches(bad_word))
                    return NULL;
                PyErr_Clear(); /* decode_log reads it with eth_abi, and names the refusal */
                break;
            }
            PyObject *out = PyTuple_Pack(2, PyTuple_GET_ITEM(entry, 1), args);
            Py_DECREF(args);
            return out;
        }
    }
    return PyObject_CallOneArg(decode_log, log);
}

/* JSON text of a tuple of topics when each is plain letters and digits (nothing to escape), as
 * orjson writes it: ["0x..","0x.."]; NULL without an exception otherwise. */
static PyObject *topics_json(PyObject *topics) {
    Py_ssize_t count = PyTuple_GET_SIZE(topics), size = 2, n;
    for (Py_ssize_t i = 0; i < count; i++) {
        const char *s = ascii_of(PyTuple_GET_ITEM(topics, i), &n);
        if (s == NULL)
            return NULL;
        for (Py_ssize_t k = 0; k < n; k++)
            if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')))
                return NULL;
        size += n + 2 + (i > 0);
    }
    PyObject *out = PyUnicode_New(size, 127);
    if (out == NULL)
        return NULL;
    char *d = (char *)PyUnicode_1BYTE_DATA(out);
    *d++ = '[';
    for (Py_ssize_t i = 0; i < count; i++) {
        const char *s = ascii_of(PyTuple_GET_ITEM(topics, i), &n);
        if (i > 0)
            *d++ = ',';
        *d++ = '"';
        memcpy(d, s, (size_t)n);
        d += n;
        *d++ = '"';
    }
    *d = ']';
    return out;
}

#define ROW_FIELDS 12

/* event_rows(logs, chain_id, timestamps, table, decode_log, json_text, row_type) -> (rows, values):
 * each log's row of the event table (row_type, sync.EventRow) and the same row as the bulk insert
 * takes it (arguments and topics as JSON text); see sync.python_event_rows, which it equals. */
static PyObject *event_rows(PyObject *self, PyObject *args) {
    PyObject *logs, *chain_id, *timestamps, *table, *decode_log, *json_text, *row_type;
    if (!PyArg_ParseTuple(args, "O!OO!O!OOO!:event_rows", &PyList_Type, &logs, &chain_id, &PyDict_Type, &timestamps,
                          &PyDict_Type, &table, &decode_log, &json_text, &PyType_Type, &row_type) ||
        !configured())
        return NULL;
    PyTypeObject *type = (PyTypeObject *)row_type;
    Py_ssize_t count = PyList_GET_SIZE(logs);
    PyObject *rows = PyList_New(count), *values = PyList_New(count);
    if (rows == NULL || values == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *log = PyList_GET_ITEM(logs, i);
        if (Py_TYPE(log) != log_type) {
            PyErr_SetString(PyExc_TypeError, "event_rows: expected Log tuples");
            goto fail;
        }
        PyObject *number = PyTuple_GET_ITEM(log, F_BLOCK_NUMBER);
        PyObject *timestamp = PyDict_GetItemWithError(timestamps, number); /* borrowed */
        if (timestamp == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, number);
            goto fail;
        }
        PyObject *pair = decoded(log, table, decode_log);
        if (pair == NULL)
            goto fail;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_DECREF(pair);
            PyErr_SetString(PyExc_TypeError, "event_rows: decode_log must return (name, arguments)");
            goto fail;
        }
        PyObject *topics = PyTuple_GET_ITEM(log, F_TOPICS);
        PyObject *topic_list = PySequence_List(topics);
        PyObject *args_json = topic_list ? PyObject_CallOneArg(json_text, PyTuple_GET_ITEM(pair, 1)) : NULL;
        PyObject *topics_text = NULL;
        if (args_json != NULL) {
            topics_text = PyTuple_CheckExact(topics) ? topics_json(topics) : NULL;
            if (topics_text == NULL && !PyErr_Occurred())
                topics_text = PyObject_CallOneArg(json_text, topic_list);
        }
        PyObject *row = topics_text ? type->tp_alloc(type, ROW_FIELDS) : NULL;
        PyObject *value = row ? PyTuple_New(ROW_FIELDS) : NULL;
        if (value == NULL) {
            Py_XDECREF(row);
            Py_XDECREF(topics_text);
            Py_XDECREF(args_json);
            Py_XDECREF(topic_list);
            Py_DECREF(pair);
            goto fail;
        }
        PyObject *fields[ROW_FIELDS] = {
            chain_id,
            number,
            PyTuple_GET_ITEM(log, F_LOG_INDEX),
            PyTuple_GET_ITEM(log, F_BLOCK_HASH),
            timestamp,
            PyTuple_GET_ITEM(log, F_TX_HASH),
            PyTuple_GET_ITEM(log, F_TX_INDEX),
            PyTuple_GET_ITEM(log, F_ADDRESS),
            PyTuple_GET_ITEM(pair, 0),
            PyTuple_GET_ITEM(pair, 1),
            topic_list,
            PyTuple_GET_ITEM(log, F_DATA),
        };
        for (int k = 0; k < ROW_FIELDS; k++) {
            PyTuple_SET_ITEM(row, k, Py_NewRef(fields[k]));
            PyTuple_SET_ITEM(value, k, Py_NewRef(k == 9 ? args_json : k == 10 ? topics_text : fields[k]));
        }
        Py_DECREF(args_json);
        Py_DECREF(topics_text);
        Py_DECREF(topic_list);
        Py_DECREF(pair);
        PyList_SET_ITEM(rows, i, row);
        PyList_SET_ITEM(values, i, value);
    }
    PyObject *out = PyTuple_Pack(2, rows, values);
    Py_DECREF(rows);
    Py_DECREF(values);
    return out;
fail:
    Py_XDECREF(rows); /* unset items are NULL, which list deallocation skips */
    Py_XDECREF(values);
    return NULL;
}

/* ---- PostgreSQL's binary COPY ------------------------------------------------------------------- */

typedef struct {
    char *data;
    Py_ssize_t size, used;
} Buffer;

static int reserve(Buffer *b, Py_ssize_t more) {
    if (b->used + more <= b->size)
        return 1;
    Py_ssize_t size = b->size ? b->size : 1 << 16;
    while (size < b->used + more)
        size *= 2;
    char *data = PyMem_Realloc(b->data, (size_t)size);
    if (data == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    b->data = data;
    b->size = size;
    return 1;
}

static void put_be(Buffer *b, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--)
        b->data[b->used++] = (char)(v >> (8 * i));
}

/* An int as PostgreSQL's binary NUMERIC (digits of base 10 000, the most significant first, with
 * the weight of the first): 1 when written, 0 when `v` is not an int or has more than 78 decimal
 * digits (text COPY then), -1 on an error. */
static int put_numeric(Buffer *b, PyObject *v) {
    if (!PyLong_CheckExact(v))
        return 0;
    uint16_t digits[24]; /* 78 decimal digits fill 20 */
    int count = 0, negative = 0;
    int overflow = 0;
    long long small = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (!overflow) {
        if (small == -1 && PyErr_Occurred())
            return -1;
        negative = small < 0;
        uint64_t rest = negative ? (uint64_t)0 - (uint64_t)small : (uint64_t)small;
        while (rest) { /* least significant first, reversed below */
            digits[count++] = (uint16_t)(rest % 10000);
            rest /= 10000;
        }
    } else {
        PyObject *text = PyObject_Str(v);
        if (text == NULL)
            return -1;
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(text, &n);
        if (s == NULL) {
            Py_DECREF(text);
            return -1;
        }
        negative = s[0] == '-';
        const char *first = s + negative;
        Py_ssize_t length = n - negative;
        if (length > 78) {
            Py_DECREF(text);
            return 0;
        }
        for (Py_ssize_t end = length; end > 0; end -= 4) {
            Py_ssize_t start = end >= 4 ? end - 4 : 0;
            int digit = 0;
            for (Py_ssize_t k = start; k < end; k++)
                digit = digit * 10 + (first[k] - '0');
            digits[count++] = (uint16_t)digit;
        }
        Py_DECREF(text);
    }
    int weight = count - 1, stored = count, lowest = 0;
    while (stored > 0 && digits[lowest] == 0) { /* trailing zero digits need not be sent */
        lowest++;
        stored--;
    }
    if (count == 0)
        weight = 0;
    if (!reserve(b, 4 + 8 + 2 * stored))
        return -1;
    put_be(b, (uint64_t)(8 + 2 * stored), 4);
    put_be(b, (uint64_t)stored, 2);
    put_be(b, (uint64_t)(uint16_t)weight, 2);
    put_be(b, negative ? 0x4000 : 0, 2);
    put_be(b, 0, 2); /* no digits after the point */
    for (int i = count - 1; i >= lowest; i--)
        put_be(b, digits[i], 2);
    return 1;
}

/* copy_binary(rows, kinds) -> bytes or None: the whole COPY ... (FORMAT BINARY) stream (signature,
 * rows, trailer) of `rows` (tuples in column order), `kinds` a letter per column: q bigint, i
 * integer, n numeric (from an int), b boolean, t text or varchar, j jsonb, J json (both from JSON
 * text). None (the caller then sends
 * text COPY, which says what is wrong) when a value does not fit its column's kind: an integer out
 * of range, a value of another type, a str that is not valid UTF-8. A None value is SQL NULL. */
static PyObject *copy_binary(PyObject *self, PyObject *args) {
    PyObject *rows;
    const char *kinds;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "O!s#:copy_binary", &PyList_Type, &rows, &kinds, &width))
        return NULL;
    if (width < 1 || width > 1600) {
        PyErr_SetString(PyExc_ValueError, "copy_binary: between 1 and 1600 columns");
        return NULL;
    }
    static const char SIGNATURE[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    Buffer b = {NULL, 0, 0};
    if (!reserve(&b, 19))
        return NULL;
    memcpy(b.data, SIGNATURE, 19);
    b.used = 19;
    for (Py_ssize_t r = 0; r < PyList_GET_SIZE(rows); r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != width)
            goto not_common;
        if (!reserve(&b, 2))
            goto fail;
        put_be(&b, (uint64_t)width, 2);
        for (Py_ssize_t c = 0; c < width; c++) {
            PyObject *v = PyTuple_GET_ITEM(row, c);
            if (v == Py_None) {
                if (!reserve(&b, 4))
                    goto fail;
                put_be(&b, 0xffffffffu, 4);
                continue;
            }
            char kind = kinds[c];
            if (kind == 'q' || kind == 'i') {
                if (!PyLong_CheckExact(v))
                    goto not_common;
                int overflow = 0;
                long long n = PyLong_AsLongLongAndOverflow(v, &overflow);
                if (overflow || (n == -1 && PyErr_Occurred()) || (kind == 'i' && (n < INT32_MIN || n > INT32_MAX))) {
                    PyErr_Clear();
                    goto not_common;
                }
                int bytes = kind == 'q' ? 8 : 4;
                if (!reserve(&b, 4 + bytes))
                    goto fail;
                put_be(&b, (uint64_t)bytes, 4);
                put_be(&b, (uint64_t)n, bytes);
                continue;
            }
            if (kind == 'b') {
                if (!PyBool_Check(v))
                    goto not_common;
                if (!reserve(&b, 5))
                    goto fail;
                put_be(&b, 1, 4);
                b.data[b.used++] = (char)(v == Py_True);
                continue;
            }
            if (kind == 'n') {
                int written = put_numeric(&b, v);
                if (written < 0)
                    goto fail;
                if (written == 0)
                    goto not_common;
                continue;
            }
            if (kind != 't' && kind != 'j' && kind != 'J') {
                PyErr_Format(PyExc_ValueError, "copy_binary: no column kind '%c'", kind);
                goto fail;
            }
            if (!PyUnicode_CheckExact(v))
                goto not_common;
            Py_ssize_t n;
            const char *text = PyUnicode_AsUTF8AndSize(v, &n);
            if (text == NULL) { /* lone surrogates: text COPY refuses them in its own words */
                PyErr_Clear();
                goto not_common;
            }
            if (memchr(text, 0, (size_t)n) != NULL || n > 0x3fffffff)
                goto not_common; /* PostgreSQL text holds no NUL */
            int version = kind == 'j';
            if (!reserve(&b, 4 + version + n))
                goto fail;
            put_be(&b, (uint64_t)(n + version), 4);
            if (version)
                b.data[b.used++] = 1; /* jsonb's binary form: version 1, then the JSON text */
            memcpy(b.data + b.used, text, (size_t)n);
            b.used += n;
        }
    }
    if (!reserve(&b, 2))
        goto fail;
    put_be(&b, 0xffff, 2);
    PyObject *out = PyBytes_FromStringAndSize(b.data, b.used);
    PyMem_Free(b.data);
    return out;
not_common:
    PyMem_Free(b.data);
    Py_RETURN_NONE;
fail:
    PyMem_Free(b.data);
    return NULL;
}

/* ---- module ---------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "configure(Log, checksum, BadWord): the Python objects used."},
    {"logs_from_rpc", logs_from_rpc, METH_VARARGS, "logs_from_rpc(raw_logs, fallback) -> list of Log."},
    {"next_digest", next_digest, METH_VARARGS, "next_digest(previous, number, block_hash, logs) -> str or None."},
    {"event_rows", event_rows, METH_VARARGS, "event_rows(logs, chain_id, timestamps, table, decode_log, json_text, row_type)."},
    {"copy_binary", copy_binary, METH_VARARGS, "copy_binary(rows, kinds) -> PostgreSQL binary COPY data, or None."},
    {"keccak256", keccak256, METH_O, "keccak256(data) -> 32 bytes (Ethereum's keccak-256)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "indexer._speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) {
    init_hex();
    if (PyType_Ready(&ReaderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
