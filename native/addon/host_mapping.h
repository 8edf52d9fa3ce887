// host_mapping.h - a file mapped MAP_SHARED and handed to JS as an external ArrayBuffer: the host
// buffers that an adapter's DMA engine reads and writes (ra-spec §11), and big adapter windows.
// At most 4 GiB per buffer (V8 aborts on a larger external ArrayBuffer: measured on Node 20); close() detaches then
// unmaps, and is idempotent.
#pragma once

#include <napi.h>

#include <string>

class HostMapping : public Napi::ObjectWrap<HostMapping> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit HostMapping(const Napi::CallbackInfo& info);
  ~HostMapping() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Unmap();

  void* addr_ = nullptr;
  size_t bytes_ = 0;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};
