// guarded_copy.cc - guardedCopy(target, source): copies source into target and returns false instead of
// dying when a page of either is gone. A revoked memory grant (ra-spec §18.7) is a file truncated to 0
// under the holder's mapping: touching it raises SIGBUS. The client library's copy helpers go through
// here so that they can report GRANT_REVOKED; a plain load or store on the mapping still gets the
// signal, and with no handler of its own the process dies of it (docs/access.md).
//
// Memory protection keys: on a CPU with PKU the kernel runs a signal handler with the default PKRU,
// which denies every key but 0, and only sigreturn puts the thread's own PKRU back. siglongjmp skips
// sigreturn, so the copy saves PKRU first and writes it back after the jump; otherwise the next access
// to memory V8 tagged with a key of its own dies of SIGSEGV (SEGV_PKUERR), seen on a Node 20 host
// whose CPU has PKU.
#include "guarded_copy.h"

#include <setjmp.h>
#include <signal.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <atomic>
#include <cstring>
#include <mutex>

namespace {

// set only around the copy below, on this thread; volatile: the handler reads it, so the store before
// the copy is no dead store to the compiler (memmove is a builtin that never reads it)
thread_local sigjmp_buf* volatile t_armed = nullptr;
struct sigaction g_previous;
std::once_flag g_installed;

void OnSigbus(int sig, siginfo_t* info, void* uctx) {
  sigjmp_buf* armed = t_armed;
  if (armed != nullptr) {
    t_armed = nullptr;
    siglongjmp(*armed, 1);
  }
  // Not a guarded copy: what was there before us decides (by default the process dies of SIGBUS).
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, uctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
             g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
  } else {
    signal(sig, SIG_DFL);  // returning re-runs the access, which now ends the process with SIGBUS
  }
}

void Install() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnSigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_previous);
}

#if defined(__x86_64__)
// CPUID.(EAX=7,ECX=0):ECX bit 4 (OSPKE): the OS enabled protection keys, so RDPKRU/WRPKRU exist.
bool ProtectionKeysEnabled() {
  static const bool enabled = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 && (c & (1u << 4)) != 0;
  }();
  return enabled;
}

uint32_t ReadPkru() {
  if (!ProtectionKeysEnabled()) return 0;
  uint32_t pkru;
  __asm__ volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
  return pkru;
}

void WritePkru(uint32_t pkru) {
  if (ProtectionKeysEnabled()) __asm__ volatile("wrpkru" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}
#else
uint32_t ReadPkru() { return 0; }
void WritePkru(uint32_t) {}
#endif

// sigsetjmp in a frame of its own with nothing to destroy between it and the fault.
bool CopyOrFault(uint8_t* dst, const uint8_t* src, size_t bytes) {
  const volatile uint32_t pkru = ReadPkru();  // volatile: read back from memory after the jump
  sigjmp_buf jmp;
  if (sigsetjmp(jmp, 1) != 0) {
    WritePkru(pkru);  // the handler ran with the kernel's default PKRU and sigreturn never came
    return false;
  }
  t_armed = &jmp;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  memmove(dst, src, bytes);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_armed = nullptr;
  return true;
}

}  // namespace

Napi::Value GuardedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray())
    throw Napi::TypeError::New(env, "guardedCopy(target: Uint8Array, source: Uint8Array)");
  auto target = info[0].As<Napi::Uint8Array>();
  auto source = info[1].As<Napi::Uint8Array>();
  if (target.ByteLength() != source.ByteLength())
    throw Napi::RangeError::New(env, "guardedCopy: target and source must have the same length");
  std::call_once(g_installed, Install);
  return Napi::Boolean::New(env, CopyOrFault(target.Data(), source.Data(), source.ByteLength()));
}
