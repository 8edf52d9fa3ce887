// memory_mapping.h - adapter memory mapped by URI (ra_mem_map: "dax:///dev/dax0.0" inside a QEMU
// guest) and handed to JS as an external ArrayBuffer; close() detaches then unmaps, idempotent.
#pragma once

#include <napi.h>

class MemoryMapping : public Napi::ObjectWrap<MemoryMapping> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit MemoryMapping(const Napi::CallbackInfo& info);
  ~MemoryMapping() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Unmap();

  void* addr_ = nullptr;
  size_t bytes_ = 0;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};
