/*
 * The XDP program of `if:NAME,mode=xdp` ports, assembled here by hand (no
 * compiler, no libbpf: 31 instructions), and the bpf() syscall wrapper.
 *
 *   pass to the stack (the packet socket reads it, with its vnet header):
 *     a frame larger than a chunk (a GSO super-frame), and every IPv4/IPv6
 *     TCP segment (untagged, behind one 802.1Q or 802.1ad tag, or behind
 *     two: 802.1ad or 802.1Q, then 802.1Q), so that a TCP flow arrives
 *     through one socket, in order
 *   otherwise: bpf_redirect_map(xsks_map, ctx->rx_queue_index, XDP_PASS)
 *     into the AF_XDP socket of that queue
 *
 * Invariants: the program holds a reference to the map; loading it changes
 * nothing on any interface (xdp.cc attaches it through a bpf_link).
 */

#include <errno.h>
#include <netinet/in.h>
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
  constexpr int kInsns = 31;
  struct bpf_insn insns[kInsns];
  memset(insns, 0, sizeof insns);
  auto ins = [&insns](int i, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    insns[i].code = code;
    insns[i].dst_reg = dst;
    insns[i].src_reg = src;
    insns[i].off = off;
    insns[i].imm = imm;
  };
  // Jumps: off = target - (i + 1). kPass = 29, kRedirect = 23.
  ins(0, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, data), 0);
  ins(1, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct xdp_md, data_end), 0);
  // A frame no chunk holds (a GSO super-frame) passes to the stack, where the packet socket gets it with its vnet header.
  ins(2, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
  ins(3, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, static_cast<int32_t>(max_frame + 1));
  ins(4, BPF_JMP | BPF_JLE | BPF_X, BPF_REG_4, BPF_REG_3, 24, 0);  // data + max + 1 <= data_end: pass
  // So does every TCP segment (IPv4/IPv6; untagged, behind one 802.1Q or 802.1ad tag, or behind an 802.1ad or
  // 802.1Q tag and then an 802.1Q one): a TCP flow whose super-frames took the packet socket and its small
  // segments the XSK ring would be reordered between the two. r2 moves past each tag. Shorter than 32 bytes
  // (the IPv4 protocol byte behind two tags): redirect.
  ins(5, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
  ins(6, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, 32);
  ins(7, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_4, BPF_REG_3, 15, 0);  // to redirect
  ins(8, BPF_LDX | BPF_MEM | BPF_H, BPF_REG_5, BPF_REG_2, 12, 0);  // the EtherType, read little-endian
  ins(9, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_5, 0, 1, 0xa888);       // 802.1ad: to 11
  ins(10, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 5, 0x0081);      // not 802.1Q: to 16
  ins(11, BPF_LDX | BPF_MEM | BPF_H, BPF_REG_5, BPF_REG_2, 16, 0);  // the EtherType behind the first tag
  ins(12, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, 4);
  ins(13, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 2, 0x0081);      // no second (802.1Q) tag: to 16
  ins(14, BPF_LDX | BPF_MEM | BPF_H, BPF_REG_5, BPF_REG_2, 16, 0);  // the EtherType behind the second tag
  ins(15, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, 4);
  ins(16, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_5, 0, 4, 0x0008);      // IPv4: to 21
  ins(17, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 5, 0xdd86);      // not IPv6: to redirect
  ins(18, BPF_LDX | BPF_MEM | BPF_B, BPF_REG_5, BPF_REG_2, 14 + 6, 0);  // IPv6 next header
  ins(19, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_5, 0, 9, IPPROTO_TCP);  // to pass
  ins(20, BPF_JMP | BPF_JA, 0, 0, 2, 0);                            // to redirect
  ins(21, BPF_LDX | BPF_MEM | BPF_B, BPF_REG_5, BPF_REG_2, 14 + 9, 0);  // IPv4 protocol
  ins(22, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_5, 0, 6, IPPROTO_TCP);  // to pass
  // Redirect: bpf_redirect_map(xsks, ctx->rx_queue_index, XDP_PASS) (no socket for that queue: pass).
  ins(23, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, rx_queue_index), 0);
  ins(24, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);  // and insn 25: the upper half, 0
  ins(26, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS);
  ins(27, BPF_JMP | BPF_CALL, 0, 0, 0, kHelperRedirectMap);
  ins(28, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  ins(29, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS);
  ins(30, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  static const char license[] = "Dual MIT/GPL";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_XDP;
  attr.insns = reinterpret_cast<uint64_t>(insns);
  attr.insn_cnt = kInsns;
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.expected_attach_type = BPF_XDP;
  strncpy(attr.prog_name, "linc_xsk", sizeof attr.prog_name - 1);
  return static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
}

}  // namespace linc
