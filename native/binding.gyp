{
  "targets": [
    {
      "target_name": "veilgate_crypto",
      "sources": ["src/veilgate_crypto.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=0x10100000L"]
    }
  ]
}
