/*
 * Slow-path syscalls: open a TAP, open an AF_PACKET socket on an interface,
 * read and set link state. Each returns plain JS values or throws
 * Error{code, errno, syscall}; nothing here runs per frame.
 *
 * Invariants
 * - Every fd this file returns is non-blocking and close-on-exec.
 * - On any failure after an fd was opened, the fd is closed before throwing.
 * - Interface ioctls go through a short-lived AF_INET datagram socket, so
 *   they see the network namespace of this process.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "layout.h"
#include "sys.h"

namespace linc {

namespace {

constexpr unsigned kTapOffloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
/*
 * TX queue length given to a TAP we create: the ring of frames the kernel queues
 * for us to read, room for bursts while JS is busy (the kernel default is
 * 500-1000); frames beyond it are the TAP's tx_dropped, counted as kernel drops.
 * The TAP's send buffer (TUNSETSNDBUF) stays the kernel's default (unlimited):
 * a write is handed to the stack before it returns, nothing of ours waits there.
 */
constexpr int kTapTxQueueLen = 4096;

/* The interface name, or empty when it cannot be an interface name. */
bool ValidIfName(const std::string& name) {
  return !name.empty() && name.size() < IFNAMSIZ && name.find('\0') == std::string::npos;
}

void FillIfreq(struct ifreq* ifr, const std::string& name) {
  memset(ifr, 0, sizeof(*ifr));
  memcpy(ifr->ifr_name, name.data(), name.size());
}

/* ioctl on a fresh AF_INET control socket; returns 0 or a positive errno. */
int IfIoctl(unsigned long req, struct ifreq* ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  int rc = ioctl(s, req, ifr);
  int err = rc < 0 ? errno : 0;
  close(s);
  return err;
}

/* Set IFF_UP on `name`; returns 0 or a positive errno. */
int BringUp(const std::string& name) {
  struct ifreq ifr;
  FillIfreq(&ifr, name);
  int err = IfIoctl(SIOCGIFFLAGS, &ifr);
  if (err != 0) return err;
  if (ifr.ifr_flags & IFF_UP) return 0;
  ifr.ifr_flags |= IFF_UP;
  return IfIoctl(SIOCSIFFLAGS, &ifr);
}

bool GetStringArg(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool GetBoolOpt(const Napi::CallbackInfo& info, size_t i, const char* key) {
  if (info.Length() <= i || !info[i].IsObject()) return false;
  return info[i].As<Napi::Object>().Get(key).ToBoolean().Value();
}

/* openTap(name, {vnetHdr, offloads}) -> {fd, name, created} */
Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!GetStringArg(info, 0, &name)) return ThrowType(env, "openTap(name, opts): name must be a string");
  const bool vnet = GetBoolOpt(info, 1, "vnetHdr");
  const bool offloads = vnet && GetBoolOpt(info, 1, "offloads");
  if (!ValidIfName(name)) return ThrowSys(env, name.empty() ? EINVAL : ENAMETOOLONG, "TUNSETIFF", name);

  const bool existed = if_nametoindex(name.c_str()) != 0;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ThrowSys(env, errno, "open /dev/net/tun", name);

  struct ifreq ifr;
  FillIfreq(&ifr, name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  const char* failed = nullptr;
  int err = 0;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    failed = "TUNSETIFF";
  } else if (vnet) {
    int hdr = kVnetHdrLen;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) failed = "TUNSETVNETHDRSZ";
  }
  // Without a vnet header we must not be handed partial-checksum or GSO
  // frames, even if a previous owner of a persistent TAP enabled offloads.
  if (failed == nullptr && ioctl(fd, TUNSETOFFLOAD, offloads ? kTapOffloads : 0u) < 0) failed = "TUNSETOFFLOAD";
  if (failed != nullptr) {
    err = errno;
    close(fd);
    return ThrowSys(env, err, failed, name);
  }
  const std::string actual(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  if (!existed) {
    struct ifreq q;
    FillIfreq(&q, actual);
    q.ifr_qlen = kTapTxQueueLen;
    IfIoctl(SIOCSIFTXQLEN, &q);  // best effort: a short queue only costs drops under bursts
  }
  err = BringUp(actual);
  if (err != 0) {
    close(fd);
    return ThrowSys(env, err, "SIOCSIFFLAGS", actual);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", fd);
  out.Set("name", actual);
  out.Set("created", !existed);
  return out;
}

/* openPacket(ifname, {vnetHdr}) -> {fd, ifindex} */
Napi::Value OpenPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!GetStringArg(info, 0, &name)) return ThrowType(env, "openPacket(ifname, opts): ifname must be a string");
  const bool vnet = GetBoolOpt(info, 1, "vnetHdr");
  if (!ValidIfName(name)) return ThrowSys(env, name.empty() ? EINVAL : ENAMETOOLONG, "if_nametoindex", name);
  const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (ifindex == 0) return ThrowSys(env, errno == 0 ? ENODEV : errno, "if_nametoindex", name);

  // Protocol 0 until bind, so no frame of another interface is queued meanwhile.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowSys(env, errno, "socket AF_PACKET", name);

  const int one = 1;
  const char* failed = nullptr;
  // Never re-receive what we transmit (LINC looped its own frames that way).
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) failed = "PACKET_IGNORE_OUTGOING";
  // The kernel strips VLAN tags into metadata on receive; auxdata reports them.
  else if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) failed = "PACKET_AUXDATA";
  else if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) failed = "PACKET_VNET_HDR";
  if (failed == nullptr) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) failed = "PACKET_ADD_MEMBERSHIP";
  }
  if (failed == nullptr) {
    SetPacketSockBuf(fd, SO_RCVBUFFORCE, SO_RCVBUF);
    SetPacketSockBuf(fd, SO_SNDBUFFORCE, SO_SNDBUF);
    // No PACKET_QDISC_BYPASS: veth has no qdisc anyway, and on a NIC the
    // qdisc absorbs bursts that a full driver ring would otherwise drop.
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(fd, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) < 0) failed = "bind";
  }
  int err = failed != nullptr ? errno : BringUp(name);
  if (err != 0) {
    close(fd);
    return ThrowSys(env, err, failed != nullptr ? failed : "SIOCSIFFLAGS", name);
  }
  // Bound while the interface was down (a vif just created), the socket holds a pending
  // ENETDOWN that its first send would fail with: the interface is up now, clear it.
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", fd);
  out.Set("ifindex", ifindex);
  return out;
}

/* linkInfo(name) -> {adminUp, carrier, mtu, mac, ifindex} | null */
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!GetStringArg(info, 0, &name)) return ThrowType(env, "linkInfo(name): name must be a string");
  if (!ValidIfName(name)) return env.Null();
  struct ifreq ifr;
  FillIfreq(&ifr, name);
  int err = IfIoctl(SIOCGIFINDEX, &ifr);
  if (err == ENODEV) return env.Null();
  if (err != 0) return ThrowSys(env, err, "SIOCGIFINDEX", name);
  const int ifindex = ifr.ifr_ifindex;
  FillIfreq(&ifr, name);
  if ((err = IfIoctl(SIOCGIFFLAGS, &ifr)) != 0) return err == ENODEV ? env.Null() : ThrowSys(env, err, "SIOCGIFFLAGS", name);
  const int flags = ifr.ifr_flags;
  FillIfreq(&ifr, name);
  if ((err = IfIoctl(SIOCGIFMTU, &ifr)) != 0) return err == ENODEV ? env.Null() : ThrowSys(env, err, "SIOCGIFMTU", name);
  const int mtu = ifr.ifr_mtu;
  FillIfreq(&ifr, name);
  if ((err = IfIoctl(SIOCGIFHWADDR, &ifr)) != 0) return err == ENODEV ? env.Null() : ThrowSys(env, err, "SIOCGIFHWADDR", name);
  double mac = 0;
  for (int i = 0; i < 6; i++) mac = mac * 256 + static_cast<unsigned char>(ifr.ifr_hwaddr.sa_data[i]);

  Napi::Object out = Napi::Object::New(env);
  out.Set("adminUp", (flags & IFF_UP) != 0);
  // ifr_flags is 16 bits wide, so IFF_LOWER_UP is cut off; IFF_RUNNING is the operational state.
  out.Set("carrier", (flags & IFF_RUNNING) != 0);
  out.Set("mtu", mtu);
  out.Set("mac", mac);
  out.Set("ifindex", ifindex);
  return out;
}

/* setLinkUp(name) -> undefined */
Napi::Value SetLinkUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!GetStringArg(info, 0, &name)) return ThrowType(env, "setLinkUp(name): name must be a string");
  if (!ValidIfName(name)) return ThrowSys(env, ENODEV, "SIOCSIFFLAGS", name);
  int err = BringUp(name);
  if (err != 0) return ThrowSys(env, err, "SIOCSIFFLAGS", name);
  return env.Undefined();
}

/*
 * The flags and MTU of interface `name` in the network namespace `nsfd`,
 * read on a short-lived thread that joins that namespace (setns is per
 * thread for network namespaces), so this process's threads never leave
 * their own. Returns 0 or a positive errno (EPERM without CAP_SYS_ADMIN).
 */
struct NetnsProbe {
  int nsfd;
  std::string name;
  int flags = 0;
  int mtu = 0;
  int err = 0;
};

void* ProbeInNetns(void* arg) {
  NetnsProbe* p = static_cast<NetnsProbe*>(arg);
  if (setns(p->nsfd, CLONE_NEWNET) < 0) {
    p->err = errno;
    return nullptr;
  }
  struct ifreq ifr;
  FillIfreq(&ifr, p->name);
  if ((p->err = IfIoctl(SIOCGIFFLAGS, &ifr)) != 0) return nullptr;
  p->flags = ifr.ifr_flags & 0xffff;
  FillIfreq(&ifr, p->name);
  if ((p->err = IfIoctl(SIOCGIFMTU, &ifr)) != 0) return nullptr;
  p->mtu = ifr.ifr_mtu;
  return nullptr;
}

int ProbeNetns(NetnsProbe* p) {
  const int rc = RunOnThread(ProbeInNetns, p);
  return rc != 0 ? rc : p->err;
}

/*
 * tapInfo(fd) -> {name, sameNetns: boolean | null, flags: number | null, mtu: number | null} | null
 * Asks the TAP behind `fd` for its current name and whether it still lives in
 * our network namespace (it may have been moved with `ip link set X netns
 * NS`). null: the device is gone. sameNetns null: the kernel cannot say.
 * In another namespace, flags (IFF_UP, IFF_RUNNING, ... as SIOCGIFFLAGS
 * gives them) and mtu are read there when the kernel lets us (needs
 * CAP_SYS_ADMIN); otherwise, and in our own namespace, they are null.
 */
Napi::Value TapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "tapInfo(fd): fd must be a number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name;
  const int err = TapName(fd, &name);
  if (err == EBADFD) return env.Null();
  if (err != 0) return ThrowSys(env, err, "TUNGETIFF", "fd " + std::to_string(fd));
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", name);
  Napi::Value same = env.Null();
  Napi::Value flags = env.Null();
  Napi::Value mtu = env.Null();
  int nsfd = ioctl(fd, TUNGETDEVNETNS);
  if (nsfd >= 0) {
    const int in_ours = InOurNetns(nsfd);
    if (in_ours >= 0) {
      const bool here = in_ours == 1;
      same = Napi::Boolean::New(env, here);
      NetnsProbe probe;
      probe.nsfd = nsfd;
      probe.name = name;
      if (!here && ProbeNetns(&probe) == 0) {
        flags = Napi::Number::New(env, probe.flags);
        mtu = Napi::Number::New(env, probe.mtu);
      }
    }
    close(nsfd);
  }
  out.Set("sameNetns", same);
  out.Set("flags", flags);
  out.Set("mtu", mtu);
  return out;
}

/* closeFd(fd): for an fd that never made it into an Io. */
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "closeFd(fd): fd must be a number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd >= 0) close(fd);
  return env.Undefined();
}

}  // namespace

int TapName(int fd, std::string* name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) return errno;
  name->assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  return 0;
}

int InOurNetns(int nsfd) {
  struct stat dev_ns, our_ns;
  if (fstat(nsfd, &dev_ns) != 0 || stat("/proc/thread-self/ns/net", &our_ns) != 0) return -1;
  return dev_ns.st_ino == our_ns.st_ino && dev_ns.st_dev == our_ns.st_dev ? 1 : 0;
}

int RunOnThread(void* (*fn)(void*), void* arg) {
  pthread_t t;
  const int rc = pthread_create(&t, nullptr, fn, arg);
  if (rc != 0) return rc;
  pthread_join(t, nullptr);
  return 0;
}

Napi::Value ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& subject) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + " " + subject + ": " + strerror(err));
  Napi::Object o = e.Value();
  o.Set("code", uv_err_name(-err));
  o.Set("errno", err);
  o.Set("syscall", syscall);
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

void InitOpen(Napi::Env env, Napi::Object exports) {
  exports.Set("openTap", Napi::Function::New(env, OpenTap, "openTap"));
  exports.Set("openPacket", Napi::Function::New(env, OpenPacket, "openPacket"));
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo, "linkInfo"));
  exports.Set("setLinkUp", Napi::Function::New(env, SetLinkUp, "setLinkUp"));
  exports.Set("tapInfo", Napi::Function::New(env, TapInfo, "tapInfo"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace linc
