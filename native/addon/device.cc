#include "device.h"

#include <sys/socket.h>
#include <cerrno>
#include <unistd.h>

#include <string>

struct Device::Watch {
  uv_poll_t handle;
  Napi::FunctionReference callback;
  Device* owner;
  int index;
  int fd;
};

Napi::Function Device::Init(Napi::Env env) {
  return DefineClass(env, "Device",
                     {InstanceMethod("ring", &Device::Ring), InstanceMethod("watch", &Device::WatchVector),
                      InstanceMethod("watchGone", &Device::WatchGone), InstanceMethod("close", &Device::Close),
                      InstanceMethod("keepAlive", &Device::KeepAlive),
                      InstanceAccessor("open", &Device::IsOpen, nullptr)});
}

// new Device(uri): opens the adapter synchronously (a local socket handshake of a few messages).
Device::Device(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Device>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "Device(uri): uri must be a string");
  std::string uri = info[0].As<Napi::String>();
  char err[RA_DEV_ERR_BYTES];
  dev_ = ra_dev_open(uri.c_str(), err, sizeof(err));
  if (!dev_) {
    Napi::Error e = Napi::Error::New(env, err);
    e.Set("code", Napi::String::New(env, "OPEN_FAILED"));
    throw e;
  }
  // The Device owns the mapping; the ArrayBuffer's finalizer does nothing, and close() detaches
  // the buffer before unmapping so that JS sees a zero-length buffer, never freed memory.
  auto bar = Napi::ArrayBuffer::New(env, dev_->bar, dev_->bar_bytes, [](Napi::Env, void*) {});
  bar_ = Napi::Persistent(bar);
  watches_.assign(dev_->vectors + 1, nullptr);
  Value().Set("bar", bar);
  Value().Set("peerId", Napi::Number::New(env, dev_->peer_id));
  Value().Set("vectors", Napi::Number::New(env, dev_->vectors));
}

Device::~Device() { CloseDevice(); }

Napi::Value Device::IsOpen(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), dev_ != nullptr); }

Napi::Value Device::Ring(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!dev_) throw Napi::Error::New(env, "adapter is closed");
  uint32_t vector = info[0].As<Napi::Number>().Uint32Value();
  if (ra_dev_ring(dev_, vector) != 0) throw Napi::Error::New(env, dev_->err);
  return env.Undefined();
}

// watch(vector, callback(count) | null): call back on the event loop whenever interrupt `vector`
// fires; null stops watching (so an idle process can exit).
Napi::Value Device::WatchVector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!dev_) throw Napi::Error::New(env, "adapter is closed");
  uint32_t vector = info[0].As<Napi::Number>().Uint32Value();
  if (vector >= dev_->vectors) throw Napi::RangeError::New(env, "interrupt vector out of range");
  StopWatch((int)vector);
  if (info[1].IsFunction()) StartWatch(env, (int)vector, dev_->irq_fds[vector], info[1].As<Napi::Function>());
  return env.Undefined();
}

// keepAlive(vector, bool): whether a watch on `vector` keeps the event loop alive. Waiters set it
// while they wait; an idle watch stays installed (no handle churn per wait) without holding the
// process open.
Napi::Value Device::KeepAlive(const Napi::CallbackInfo& info) {
  uint32_t vector = info[0].As<Napi::Number>().Uint32Value();
  bool on = info[1].ToBoolean();
  if (vector < watches_.size() && watches_[vector]) {
    uv_handle_t* h = reinterpret_cast<uv_handle_t*>(&watches_[vector]->handle);
    if (on) uv_ref(h);
    else uv_unref(h);
  }
  return info.Env().Undefined();
}

// watchGone(callback() | null): call back once when the adapter's connection closes (model exit,
// surprise removal). The watch keeps the loop alive only while a callback is set.
Napi::Value Device::WatchGone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!dev_) throw Napi::Error::New(env, "adapter is closed");
  int index = (int)dev_->vectors;
  StopWatch(index);
  if (info[0].IsFunction() && dev_->conn_fd >= 0) StartWatch(env, index, dev_->conn_fd, info[0].As<Napi::Function>());
  return env.Undefined();
}

void Device::StartWatch(Napi::Env env, int index, int fd, Napi::Function callback) {
  if (fd < 0) return;  // a polled backend (pci://) has no interrupt fds: waits poll on their timer
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* w = new Watch();
  w->callback = Napi::Persistent(callback);
  w->owner = this;
  w->index = index;
  w->fd = fd;
  w->handle.data = w;
  uv_poll_init(loop, &w->handle, fd);
  uv_poll_start(&w->handle, UV_READABLE | UV_DISCONNECT, OnPoll);
  watches_[index] = w;
}

void Device::StopWatch(int index) {
  if (index < 0 || (size_t)index >= watches_.size() || !watches_[index]) return;
  Watch* w = watches_[index];
  watches_[index] = nullptr;
  w->callback.Reset();
  uv_poll_stop(&w->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
}

void Device::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<Watch*>(handle->data);
  Device* self = w->owner;
  if (!self->dev_ || w->callback.IsEmpty()) return;
  Napi::Env env = w->callback.Env();
  Napi::HandleScope scope(env);
  bool is_connection = w->index == (int)self->dev_->vectors;
  double count = 0;
  if (is_connection) {
    // After setup the server only sends peer notices (fds we do not need); EOF means it is gone.
    char buf[64];
    ssize_t n = status < 0 ? 0 : recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && errno == EAGAIN && !(events & UV_DISCONNECT))) return;
  } else {
    count = (double)ra_dev_ack_irq(self->dev_, (uint32_t)w->index);
    if (count == 0) return;
  }
  Napi::Function fn = w->callback.Value();
  if (is_connection) self->StopWatch(w->index);  // report once; `w` is freed after this
  try {
    // MakeCallback (not Call) so that promise continuations run before we return to libuv.
    fn.MakeCallback(env.Global(), {Napi::Number::New(env, count)});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void Device::CloseDevice() {
  if (!dev_) return;
  for (size_t i = 0; i < watches_.size(); i++) StopWatch((int)i);
  if (!bar_.IsEmpty()) {
    bar_.Value().Detach();
    bar_.Reset();
  }
  ra_dev_close(dev_);
  dev_ = nullptr;
}

Napi::Value Device::Close(const Napi::CallbackInfo& info) {
  CloseDevice();  // closing twice is safe
  return info.Env().Undefined();
}
