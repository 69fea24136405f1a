/*
 * The XDP program of `if:NAME,mode=xdp` ports, assembled here by hand (no
 * compiler, no libbpf: twelve instructions), and the bpf() syscall wrapper.
 *
 *   r2 = ctx->data; r3 = ctx->data_end; r2 += max_frame + 1
 *   if r2 <= r3 goto pass            ; too big for a chunk (GSO): the stack
 *   r2 = ctx->rx_queue_index; r1 = xsks_map; r3 = XDP_PASS
 *   call bpf_redirect_map; exit      ; to the AF_XDP socket of that queue
 *   pass: r0 = XDP_PASS; exit
 *
 * Invariants: the program holds a reference to the map; loading it changes
 * nothing on any interface (xdp.cc attaches it through a bpf_link).
 */

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xdp.h"

namespace linc {

namespace {
constexpr int kHelperRedirectMap = 51;  // BPF_FUNC_redirect_map
}  // namespace

long Bpf(int cmd, union bpf_attr* attr) { return syscall(__NR_bpf, cmd, attr, sizeof *attr); }

int LoadXskRedirectProgram(int map_fd, uint32_t max_frame) {
  struct bpf_insn insns[12];
  memset(insns, 0, sizeof insns);
  auto ins = [&insns](int i, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    insns[i].code = code;
    insns[i].dst_reg = dst;
    insns[i].src_reg = src;
    insns[i].off = off;
    insns[i].imm = imm;
  };
  // A frame no chunk holds (a GSO super-frame) passes to the stack, where the packet socket gets it with its vnet header.
  ins(0, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, data), 0);
  ins(1, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct xdp_md, data_end), 0);
  ins(2, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, static_cast<int32_t>(max_frame + 1));
  ins(3, BPF_JMP | BPF_JLE | BPF_X, BPF_REG_2, BPF_REG_3, 6, 0);  // data + max + 1 <= data_end: to insn 10
  // Otherwise: bpf_redirect_map(xsks, ctx->rx_queue_index, XDP_PASS) (no socket for that queue: pass).
  ins(4, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, rx_queue_index), 0);
  ins(5, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);  // and insn 6: the upper half, 0
  ins(7, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS);
  ins(8, BPF_JMP | BPF_CALL, 0, 0, 0, kHelperRedirectMap);
  ins(9, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  ins(10, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS);
  ins(11, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  static const char license[] = "Dual MIT/GPL";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_XDP;
  attr.insns = reinterpret_cast<uint64_t>(insns);
  attr.insn_cnt = 12;
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.expected_attach_type = BPF_XDP;
  strncpy(attr.prog_name, "linc_xsk", sizeof attr.prog_name - 1);
  return static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
}

}  // namespace linc
