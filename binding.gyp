{
  # Two targets, one build: the Node-API addon (driver backends + thin bindings) and the
  # device model executable. Project C is compiled with -Wall -Wextra -Werror; node-addon-api's
  # headers are included with -isystem so that their warnings are not ours.
  "target_defaults": {
    "include_dirs": ["native/include", "native/driver"],
    "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-g", "-fno-strict-aliasing", "-D_GNU_SOURCE"],
    "cflags_c": ["-std=gnu11"],
  },
  "targets": [
    {
      "target_name": "rafabric_native",
      "sources": ["<!@(ls -1 native/addon/*.cc native/driver/*.c)"],
      "cflags": ["-isystem", "<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
    },
    {
      "target_name": "ra-model",
      "type": "executable",
      "sources": ["<!@(ls -1 native/model/*.c)"],
      "libraries": ["-lcrypto", "-lpthread", "-lm"],
    },
    {
      "target_name": "ra-bench",
      "type": "executable",
      "sources": ["native/bench/ra-bench.c"],
      "libraries": ["-lcrypto"],
    },
  ],
}
