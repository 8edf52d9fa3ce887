// window_interrupt.h - a tenant window's doorbell and interrupt (ra-spec §18.5) for its holder: the
// two FIFOs beside the window file, rung and watched here rather than through Node streams, so that
// an interrupt costs the event loop's wake-up, one read() and one call into JS (no stream buffers,
// no 'data' events), and a doorbell one write() (no fs request).
#pragma once

#include <napi.h>
#include <uv.h>

class WindowInterrupt : public Napi::ObjectWrap<WindowInterrupt> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit WindowInterrupt(const Napi::CallbackInfo& info);
  ~WindowInterrupt() override;

 private:
  Napi::Value Ring(const Napi::CallbackInfo& info);
  Napi::Value Watch(const Napi::CallbackInfo& info);
  Napi::Value KeepAlive(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void StopWatch();
  void CloseAll();
  static void OnPoll(uv_poll_t* handle, int status, int events);

  int doorbell_fd_ = -1;
  int irq_fd_ = -1;
  uv_poll_t* poll_ = nullptr;  // freed by uv_close's callback, which may run after this object is gone
  Napi::FunctionReference callback_;
};
