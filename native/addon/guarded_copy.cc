// guarded_copy.cc - guardedCopy(target, source): copies source into target and returns false instead of
// dying when a page of either is gone. A revoked memory grant (ra-spec §18.7) is a file truncated to 0
// under the holder's mapping: touching it raises SIGBUS. The client library's copy helpers go through
// here so that they can report GRANT_REVOKED; a plain load or store on the mapping still gets the
// signal, and with no handler of its own the process dies of it (docs/access.md).
#include "guarded_copy.h"

#include <setjmp.h>
#include <signal.h>

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

// sigsetjmp in a frame of its own with nothing to destroy between it and the fault.
bool CopyOrFault(uint8_t* dst, const uint8_t* src, size_t bytes) {
  sigjmp_buf jmp;
  if (sigsetjmp(jmp, 1) != 0) return false;
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
