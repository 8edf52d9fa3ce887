// mapping.h - a region mapped into this process and handed to JS as an external ArrayBuffer
// (`buffer`): one wrapper for every kind of mapping (host files: host_mapping.h; adapter memory by
// URI: memory_mapping.h), which differ only in how the region is mapped. close() detaches the buffer
// (JS then sees length 0 instead of touching unmapped memory) and unmaps; it is idempotent, and the
// destructor does the same for a mapping JS forgot.
#pragma once

#include <napi.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

// At most 4 GiB per buffer: V8 aborts on a larger external ArrayBuffer (measured on Node 20).
static constexpr uint64_t kMaxMappingBytes = 4ull << 30;

// The size check every mapping makes before mapping anything.
inline void CheckMappingBytes(Napi::Env env, int64_t bytes) {
  if (bytes <= 0 || (uint64_t)bytes > kMaxMappingBytes)
    throw Napi::RangeError::New(env, "mapping size must be 1 byte to 4 GiB; map larger regions in windows");
}

struct MappedRegion {
  void* addr;
  size_t bytes;  // what munmap takes back
};

// Map(info) checks the constructor's arguments, maps the region (or throws a JS error having mapped
// nothing) and returns it; the class owns it from then on.
template <MappedRegion (*Map)(const Napi::CallbackInfo&)>
class Mapping : public Napi::ObjectWrap<Mapping<Map>> {
 public:
  static Napi::Function Init(Napi::Env env, const char* name) {
    return Mapping::DefineClass(env, name, {Mapping::InstanceMethod("close", &Mapping::Close)});
  }

  explicit Mapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Mapping>(info) {
    MappedRegion region = Map(info);
    addr_ = region.addr;
    bytes_ = region.bytes;
    auto buffer = Napi::ArrayBuffer::New(info.Env(), addr_, bytes_, [](Napi::Env, void*) {});
    buffer_ = Napi::Persistent(buffer);
    this->Value().Set("buffer", buffer);
  }

  ~Mapping() override { Unmap(); }

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Unmap();
    return info.Env().Undefined();
  }

  void Unmap() {
    if (!addr_) return;
    if (!buffer_.IsEmpty()) {
      buffer_.Value().Detach();
      buffer_.Reset();
    }
    munmap(addr_, bytes_);
    addr_ = nullptr;
  }

  void* addr_ = nullptr;
  size_t bytes_ = 0;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};
