#include "memory_mapping.h"

#include <string>

extern "C" {
#include "ra_dev.h"
}

// new MemoryMapping(uri, offset, bytes): map [offset, offset+bytes) of the adapter memory at uri.
MappedRegion MapAdapterMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "MemoryMapping(uri, offset, bytes)");
  std::string uri = info[0].As<Napi::String>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  int64_t bytes = info[2].As<Napi::Number>().Int64Value();
  CheckMappingBytes(env, bytes);
  if (offset < 0) throw Napi::RangeError::New(env, "mapping offset must not be negative");
  char err[RA_DEV_ERR_BYTES];
  void* addr = nullptr;
  if (ra_mem_map(uri.c_str(), (uint64_t)offset, (uint64_t)bytes, &addr, err, sizeof(err)) != 0) {
    Napi::Error e = Napi::Error::New(env, err);
    e.Set("code", Napi::String::New(env, "MAP_FAILED"));
    throw e;
  }
  return {addr, (size_t)bytes};
}
