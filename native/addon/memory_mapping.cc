#include "memory_mapping.h"

#include <sys/mman.h>

#include <string>

extern "C" {
#include "ra_dev.h"
}

static constexpr uint64_t kMaxWindowBytes = 4ull << 30;  // larger external buffers abort Node

Napi::Function MemoryMapping::Init(Napi::Env env) {
  return DefineClass(env, "MemoryMapping", {InstanceMethod("close", &MemoryMapping::Close)});
}

// new MemoryMapping(uri, offset, bytes): map [offset, offset+bytes) of the adapter memory at uri.
MemoryMapping::MemoryMapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MemoryMapping>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "MemoryMapping(uri, offset, bytes)");
  std::string uri = info[0].As<Napi::String>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  int64_t bytes = info[2].As<Napi::Number>().Int64Value();
  if (bytes <= 0 || (uint64_t)bytes > kMaxWindowBytes)
    throw Napi::RangeError::New(env, "mapping size must be 1 byte to 4 GiB; map larger regions in windows");
  if (offset < 0) throw Napi::RangeError::New(env, "mapping offset must not be negative");
  char err[RA_DEV_ERR_BYTES];
  void* addr = nullptr;
  if (ra_mem_map(uri.c_str(), (uint64_t)offset, (uint64_t)bytes, &addr, err, sizeof(err)) != 0) {
    Napi::Error e = Napi::Error::New(env, err);
    e.Set("code", Napi::String::New(env, "MAP_FAILED"));
    throw e;
  }
  addr_ = addr;
  bytes_ = (size_t)bytes;
  auto buffer = Napi::ArrayBuffer::New(env, addr_, bytes_, [](Napi::Env, void*) {});
  buffer_ = Napi::Persistent(buffer);
  Value().Set("buffer", buffer);
}

MemoryMapping::~MemoryMapping() { Unmap(); }

void MemoryMapping::Unmap() {
  if (!addr_) return;
  if (!buffer_.IsEmpty()) {
    buffer_.Value().Detach();
    buffer_.Reset();
  }
  munmap(addr_, bytes_);
  addr_ = nullptr;
}

Napi::Value MemoryMapping::Close(const Napi::CallbackInfo& info) {
  Unmap();
  return info.Env().Undefined();
}
