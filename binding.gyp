# The linc_native addon: Linux syscalls for TAP and AF_PACKET ports
# (src/ports/native/*.cc). Built by `npm ci` / `npm run build` with node-gyp;
# loaded by src/ports/native.ts from build/Release/linc_native.node.
# With liburing (Debian liburing-dev, its header found by the C compiler) TAP ports can move
# bursts through io_uring (uring.cc); without it the addon still builds and
# those ports use read/write.
{
  "variables": {
    "have_liburing%": "<!(echo '#include <liburing.h>' | cc -E -x c - >/dev/null 2>&1 && echo 1 || echo 0)"
  },
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
        "src/ports/native/ring.cc",
        "src/ports/native/xdp.cc",
        "src/ports/native/xdp-prog.cc",
        "src/ports/native/uring.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }],
        ["OS=='linux' and have_liburing==1", {
          "defines": ["LINC_HAVE_URING"],
          "libraries": ["-luring"]
        }]
      ]
    }
  ]
}
