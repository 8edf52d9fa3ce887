#include "window_interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

// A JS Error with the errno's name as `code` (ENOENT: the window was revoked before it was opened).
static Napi::Error SysError(Napi::Env env, int e, const std::string& what) {
  Napi::Error err = Napi::Error::New(env, what + ": " + strerror(e));
  err.Set("code", Napi::String::New(env, uv_err_name(-e)));
  err.Set("errno", Napi::Number::New(env, e));
  return err;
}

Napi::Function WindowInterrupt::Init(Napi::Env env) {
  return DefineClass(env, "WindowInterrupt",
                     {InstanceMethod("ring", &WindowInterrupt::Ring), InstanceMethod("watch", &WindowInterrupt::Watch),
                      InstanceMethod("keepAlive", &WindowInterrupt::KeepAlive),
                      InstanceMethod("close", &WindowInterrupt::Close)});
}

// new WindowInterrupt(doorbellPath, irqPath): opens both FIFOs non-blocking; the model holds both
// open read-write from CMD_TENANT_OPEN on (§18.5), so neither open waits for a peer.
WindowInterrupt::WindowInterrupt(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WindowInterrupt>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "WindowInterrupt(doorbellPath, irqPath): both paths must be strings");
  std::string db = info[0].As<Napi::String>(), irq = info[1].As<Napi::String>();
  doorbell_fd_ = open(db.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (doorbell_fd_ < 0) throw SysError(env, errno, "opening " + db);
  irq_fd_ = open(irq.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (irq_fd_ < 0) {
    int e = errno;
    CloseAll();
    throw SysError(env, e, "opening " + irq);
  }
}

WindowInterrupt::~WindowInterrupt() { CloseAll(); }

// ring(): one byte into the doorbell; true once written or when the FIFO is full (it already holds a
// wake-up), false when the model closed its end (EPIPE: the window was revoked).
Napi::Value WindowInterrupt::Ring(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (doorbell_fd_ < 0) throw Napi::Error::New(env, "ring: the window's doorbell is closed");
  static const char one = 1;
  for (;;) {
    if (write(doorbell_fd_, &one, 1) == 1 || errno == EAGAIN) return Napi::Boolean::New(env, true);
    if (errno == EPIPE) return Napi::Boolean::New(env, false);
    if (errno != EINTR) throw SysError(env, errno, "ringing the window's doorbell");
  }
}

// watch(callback(gone)): calls back on the event loop after each batch of interrupts (the FIFO is
// emptied first) with gone = false, and once with gone = true when the model closed its end
// (revocation, or the model left); watching then stops. The handle does not keep the event loop
// alive unless keepAlive(true) says so (a waiter is waiting).
Napi::Value WindowInterrupt::Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (irq_fd_ < 0) throw Napi::Error::New(env, "watch: the window's interrupt is closed");
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "watch(callback): a function");
  StopWatch();
  callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t();
  poll_->data = this;
  int rc = uv_poll_init(loop, poll_, irq_fd_);
  if (rc == 0) rc = uv_poll_start(poll_, UV_READABLE | UV_DISCONNECT, OnPoll);
  if (rc != 0) {
    StopWatch();
    throw SysError(env, -rc, "watching the window's interrupt");
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  return env.Undefined();
}

// keepAlive(on): whether the watch keeps the event loop alive (set by waiters while they wait).
Napi::Value WindowInterrupt::KeepAlive(const Napi::CallbackInfo& info) {
  if (poll_) {
    if (info[0].ToBoolean()) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
  return info.Env().Undefined();
}

void WindowInterrupt::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<WindowInterrupt*>(handle->data);
  if (!self || self->callback_.IsEmpty()) return;
  // Empty the FIFO: one read() when it held fewer bytes than the buffer (the usual single byte).
  bool gone = status < 0, woken = false;
  char buf[64];
  while (!gone) {
    ssize_t n = read(self->irq_fd_, buf, sizeof buf);
    if (n > 0) {
      woken = true;
      if ((size_t)n < sizeof buf) break;
    } else if (n == 0) {
      gone = true;  // every writer closed: the model closed its end (§18.5 revocation)
    } else if (errno != EINTR) {
      gone = errno != EAGAIN;
      break;
    }
  }
  if (!gone && !woken) return;  // a spurious wake-up: nothing to tell
  Napi::Env env = self->callback_.Env();
  Napi::HandleScope scope(env);
  Napi::Function fn = self->callback_.Value();
  if (gone) self->StopWatch();  // a hang-up stays readable: report it once
  try {
    // MakeCallback (not Call): the promise continuations of the woken waiters run before libuv goes on
    fn.MakeCallback(env.Global(), {Napi::Boolean::New(env, gone)});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void WindowInterrupt::StopWatch() {
  if (!poll_) return;
  poll_->data = nullptr;
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
  callback_.Reset();
}

void WindowInterrupt::CloseAll() {
  StopWatch();
  if (doorbell_fd_ >= 0) close(doorbell_fd_);
  if (irq_fd_ >= 0) close(irq_fd_);
  doorbell_fd_ = irq_fd_ = -1;
}

// close(): stops watching and closes both FIFOs; closing twice is safe.
Napi::Value WindowInterrupt::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}
