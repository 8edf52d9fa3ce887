// device.h - the JS face of one opened RA (ra_dev): its BAR as an external ArrayBuffer, the
// doorbells, and interrupt/hang-up notifications delivered on the event loop. Nothing here reads a
// register on JS's behalf: JS uses Atomics on the mapping (ra-spec §2.2, DESIGN "Native is thin").
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <vector>

extern "C" {
#include "ra_dev.h"
}

class Device : public Napi::ObjectWrap<Device> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Device(const Napi::CallbackInfo& info);
  ~Device() override;

 private:
  struct Watch;  // one uv_poll on an eventfd or on the connection socket

  Napi::Value Ring(const Napi::CallbackInfo& info);
  Napi::Value WatchVector(const Napi::CallbackInfo& info);
  Napi::Value WatchGone(const Napi::CallbackInfo& info);
  Napi::Value KeepAlive(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsOpen(const Napi::CallbackInfo& info);

  void StartWatch(Napi::Env env, int index, int fd, Napi::Function callback);
  void StopWatch(int index);
  void CloseDevice();
  static void OnPoll(uv_poll_t* handle, int status, int events);

  ra_dev* dev_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> bar_;
  std::vector<Watch*> watches_;  // index = vector; the last entry watches the connection
};
