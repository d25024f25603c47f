{
  "targets": [
    {
      "target_name": "nbconnect",
      "sources": [
        "native/syscalls.cpp",
        "native/posix_connect.cpp",
        "native/blocking.cpp",
        "native/waiter.cpp",
        "native/engine.cpp",
        "native/module.cpp",
        "native/engine_binding.cpp",
        "native/convert.cpp",
        "native/socket_options.cpp",
        "native/raw.cpp",
        "native/glibc_floor.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions", "-include", "<(module_root_dir)/native/glibc_floor.h"],
      "ldflags": ["-pthread"]
    }
  ]
}
