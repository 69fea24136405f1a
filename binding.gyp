# The linc_native addon: Linux syscalls for TAP and AF_PACKET ports
# (src/ports/native/*.cc). Built by `npm ci` / `npm run build` with node-gyp;
# loaded by src/ports/native.ts from build/Release/linc_native.node.
{
  "targets": [
    {
      "target_name": "linc_native",
      "sources": [
        "src/ports/native/addon.cc",
        "src/ports/native/open.cc",
        "src/ports/native/io.cc",
        "src/ports/native/netlink.cc",
        "src/ports/native/lock.cc",
        "src/ports/native/fd-poll.cc",
        "src/ports/native/drops.cc",
        "src/ports/native/memory.cc",
        "src/ports/native/ring.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
