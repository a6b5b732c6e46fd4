/*
 * The ingest's per-record cryptography, on the OpenSSL that Node.js itself links: HMAC-SHA-256
 * tokens and AES-256-GCM sealing. node:crypto computes the same, but each call there builds and
 * frees Hmac or Cipheriv objects around a few hundred nanoseconds of OpenSSL work; a placement
 * makes three tokens and two seals, so that overhead was most of the crypto's cost per record.
 *
 * Plaintext passes through stack buffers (or the heap when long) that are wiped before returning:
 * it is personal data. Every OpenSSL failure throws; nothing is returned half-made.
 */
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define THROW_UNLESS(cond, msg) \
  do { if (!(cond)) { napi_throw_error(env, "ERR_VEILGATE_CRYPTO", (msg)); return NULL; } } while (0)
#define NAPI_OK(call) THROW_UNLESS((call) == napi_ok, #call " failed")
/* Declares argv[n] with the call's arguments; throws `usage` unless exactly n came. */
#define TAKE_ARGS(n, usage)                                            \
  size_t argc = (n);                                                   \
  napi_value argv[n];                                                  \
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));       \
  THROW_UNLESS(argc == (n), usage)

/* ---- bytes in: a Buffer as it is, a string encoded as UTF-8 into a wiped scratch area ------------ */

typedef struct {
  const unsigned char *data;
  size_t length;
  unsigned char *owned; /* heap copy of a long string, wiped and freed by bytes_release */
  size_t owned_size;
} bytes;

/* Reads a Buffer or a string argument. `scratch` serves strings up to its size without allocating. */
static napi_status bytes_of(napi_env env, napi_value value, unsigned char *scratch, size_t scratch_size, bytes *out) {
  napi_valuetype type;
  napi_status status = napi_typeof(env, value, &type);
  if (status != napi_ok) return status;
  out->owned = NULL;
  out->owned_size = 0;
  if (type != napi_string) {
    void *data;
    status = napi_get_buffer_info(env, value, &data, &out->length);
    out->data = data;
    return status;
  }
  size_t length;
  status = napi_get_value_string_utf8(env, value, NULL, 0, &length);
  if (status != napi_ok) return status;
  unsigned char *target = scratch;
  if (length + 1 > scratch_size) {
    target = malloc(length + 1);
    if (target == NULL) return napi_generic_failure;
    out->owned = target;
    out->owned_size = length + 1;
  }
  status = napi_get_value_string_utf8(env, value, (char *)target, length + 1, &out->length);
  out->data = target;
  if (status != napi_ok && out->owned != NULL) {
    free(out->owned);
    out->owned = NULL;
  }
  return status;
}

static void bytes_release(bytes *b, unsigned char *scratch, size_t scratch_size) {
  if (b->owned != NULL) {
    OPENSSL_cleanse(b->owned, b->owned_size);
    free(b->owned);
    b->owned = NULL;
  } else if (b->data == scratch) {
    OPENSSL_cleanse(scratch, scratch_size);
  }
}

/* ---- HMAC-SHA-256 tokens ------------------------------------------------------------------------- */

/* The key's inner and outer hash states after their padded key block: a MAC then costs two copies
 * of a state and the message's own blocks. */
typedef struct {
  SHA256_CTX inner;
  SHA256_CTX outer;
} hmac_key;

static void hmac_key_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  OPENSSL_cleanse(data, sizeof(hmac_key));
  free(data);
}

static napi_value hmac_key_new(napi_env env, napi_callback_info info) {
  TAKE_ARGS(1, "hmacKey(key) takes one Buffer");
  void *key;
  size_t key_length;
  NAPI_OK(napi_get_buffer_info(env, argv[0], &key, &key_length));
  THROW_UNLESS(key_length <= SHA256_CBLOCK, "an HMAC key longer than a SHA-256 block must be hashed first");

  unsigned char ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
  memset(ipad, 0x36, sizeof ipad);
  memset(opad, 0x5c, sizeof opad);
  for (size_t i = 0; i < key_length; i++) {
    ipad[i] ^= ((const unsigned char *)key)[i];
    opad[i] ^= ((const unsigned char *)key)[i];
  }
  hmac_key *k = malloc(sizeof *k);
  THROW_UNLESS(k != NULL, "out of memory");
  int ok = SHA256_Init(&k->inner) && SHA256_Update(&k->inner, ipad, sizeof ipad) &&
           SHA256_Init(&k->outer) && SHA256_Update(&k->outer, opad, sizeof opad);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
  if (!ok) hmac_key_free(env, k, NULL);
  THROW_UNLESS(ok, "SHA-256 failed");

  napi_value external;
  if (napi_create_external(env, k, hmac_key_free, NULL, &external) != napi_ok) {
    hmac_key_free(env, k, NULL);
    THROW_UNLESS(0, "napi_create_external failed");
  }
  return external;
}

static const char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* token(key, prefix, text): prefix ‖ base64url(HMAC-SHA-256(key, text)[0..16)), 22 characters. */
static napi_value token(napi_env env, napi_callback_info info) {
  TAKE_ARGS(3, "token(key, prefix, text) takes three arguments");
  hmac_key *k;
  NAPI_OK(napi_get_value_external(env, argv[0], (void **)&k));

  char out[64];
  size_t prefix_length;
  NAPI_OK(napi_get_value_string_latin1(env, argv[1], out, 32, &prefix_length));
  THROW_UNLESS(prefix_length < 31, "token prefix too long");

  unsigned char scratch[512], mac[SHA256_DIGEST_LENGTH];
  bytes text;
  NAPI_OK(bytes_of(env, argv[2], scratch, sizeof scratch, &text));
  SHA256_CTX c = k->inner;
  int ok = SHA256_Update(&c, text.data, text.length) && SHA256_Final(mac, &c);
  bytes_release(&text, scratch, sizeof scratch);
  c = k->outer;
  ok = ok && SHA256_Update(&c, mac, sizeof mac) && SHA256_Final(mac, &c);
  OPENSSL_cleanse(&c, sizeof c);
  THROW_UNLESS(ok, "SHA-256 failed");

  /* 16 bytes: five groups of three, then one byte as two characters (its low four bits zero). */
  char *p = out + prefix_length;
  for (int i = 0; i < 15; i += 3) {
    unsigned v = (unsigned)mac[i] << 16 | (unsigned)mac[i + 1] << 8 | mac[i + 2];
    *p++ = base64url[v >> 18];
    *p++ = base64url[(v >> 12) & 63];
    *p++ = base64url[(v >> 6) & 63];
    *p++ = base64url[v & 63];
  }
  *p++ = base64url[mac[15] >> 2];
  *p++ = base64url[(mac[15] & 3) << 4];

  napi_value result;
  NAPI_OK(napi_create_string_latin1(env, out, (size_t)(p - out), &result));
  return result;
}

/* ---- AES-256-GCM --------------------------------------------------------------------------------- */

/* Per Node environment (main thread, each worker): a cipher context reused across calls and the
 * cipher fetched once, so a seal pays neither an allocation nor a provider lookup. */
typedef struct {
  EVP_CIPHER_CTX *ctx;
  EVP_CIPHER *gcm;
} gcm_state;

static void gcm_state_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  gcm_state *s = data;
  EVP_CIPHER_CTX_free(s->ctx);
  EVP_CIPHER_free(s->gcm);
  free(s);
}

enum { key_bytes = 32, iv_bytes = 12, tag_bytes = 16 };

/* sealGcm(key, iv, aad, plaintext, header): header ‖ iv ‖ tag ‖ AES-256-GCM(key, iv, aad, plaintext). */
static napi_value seal_gcm(napi_env env, napi_callback_info info) {
  TAKE_ARGS(5, "sealGcm(key, iv, aad, plaintext, header) takes five arguments");
  gcm_state *state;
  NAPI_OK(napi_get_instance_data(env, (void **)&state));

  void *key, *iv, *header;
  size_t key_length, iv_length, header_length;
  NAPI_OK(napi_get_buffer_info(env, argv[0], &key, &key_length));
  NAPI_OK(napi_get_buffer_info(env, argv[1], &iv, &iv_length));
  NAPI_OK(napi_get_buffer_info(env, argv[4], &header, &header_length));
  THROW_UNLESS(key_length == key_bytes, "AES-256-GCM needs a 32-byte key");
  THROW_UNLESS(iv_length == iv_bytes, "AES-256-GCM needs a 12-byte IV here");

  unsigned char aad_scratch[256], plain_scratch[2048];
  bytes aad, plain;
  NAPI_OK(bytes_of(env, argv[2], aad_scratch, sizeof aad_scratch, &aad));
  if (bytes_of(env, argv[3], plain_scratch, sizeof plain_scratch, &plain) != napi_ok) {
    bytes_release(&aad, aad_scratch, sizeof aad_scratch);
    THROW_UNLESS(0, "plaintext must be a string or a Buffer");
  }

  napi_value result = NULL;
  void *out_data;
  size_t body_at = header_length + iv_bytes + tag_bytes;
  int ok = napi_create_buffer(env, body_at + plain.length, &out_data, &result) == napi_ok;
  if (ok) {
    unsigned char *out = out_data;
    int n;
    memcpy(out, header, header_length);
    memcpy(out + header_length, iv, iv_bytes);
    /* GCM is a stream mode: the ciphertext is as long as the plaintext and final() writes nothing. */
    ok = EVP_EncryptInit_ex2(state->ctx, state->gcm, key, iv, NULL) &&
         EVP_EncryptUpdate(state->ctx, NULL, &n, aad.data, (int)aad.length) &&
         EVP_EncryptUpdate(state->ctx, out + body_at, &n, plain.data, (int)plain.length) && (size_t)n == plain.length &&
         EVP_EncryptFinal_ex(state->ctx, out + body_at + n, &n) && n == 0 &&
         EVP_CIPHER_CTX_ctrl(state->ctx, EVP_CTRL_GCM_GET_TAG, tag_bytes, out + header_length + iv_bytes);
  }
  bytes_release(&aad, aad_scratch, sizeof aad_scratch);
  bytes_release(&plain, plain_scratch, sizeof plain_scratch);
  THROW_UNLESS(ok, "AES-256-GCM failed");
  return result;
}

/* ---- module -------------------------------------------------------------------------------------- */

NAPI_MODULE_INIT() {
  gcm_state *state = malloc(sizeof *state);
  THROW_UNLESS(state != NULL, "out of memory");
  state->ctx = EVP_CIPHER_CTX_new();
  state->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  if (state->ctx == NULL || state->gcm == NULL || napi_set_instance_data(env, state, gcm_state_free, NULL) != napi_ok) {
    gcm_state_free(env, state, NULL);
    THROW_UNLESS(0, "could not set up AES-256-GCM");
  }
  const napi_property_descriptor functions[] = {
    {"hmacKey", NULL, hmac_key_new, NULL, NULL, NULL, napi_enumerable, NULL},
    {"token", NULL, token, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sealGcm", NULL, seal_gcm, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_OK(napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions));
  return exports;
}
