#include "host_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

static constexpr uint64_t kMaxWindowBytes = 4ull << 30;

Napi::Function HostMapping::Init(Napi::Env env) {
  return DefineClass(env, "HostMapping", {InstanceMethod("close", &HostMapping::Close)});
}

// new HostMapping(path, offset, bytes, create): map [offset, offset+bytes) of the file at path.
// With create, the file is created (mode 0600) and extended to offset+bytes if shorter.
HostMapping::HostMapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostMapping>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "HostMapping(path, offset, bytes, create)");
  std::string path = info[0].As<Napi::String>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  int64_t bytes = info[2].As<Napi::Number>().Int64Value();
  bool create = info[3].ToBoolean();
  if (bytes <= 0 || (uint64_t)bytes > kMaxWindowBytes)
    throw Napi::RangeError::New(env, "mapping size must be 1 byte to 4 GiB; map larger regions in windows");
  if (offset < 0 || offset % sysconf(_SC_PAGESIZE) != 0)
    throw Napi::RangeError::New(env, "mapping offset must be a non-negative multiple of the page size");
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) throw Napi::Error::New(env, "open " + path + ": " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || (st.st_size < offset + bytes && (!create || ftruncate(fd, offset + bytes) != 0))) {
    int e = errno;
    close(fd);
    throw Napi::Error::New(env, path + " is smaller than the mapping: " + strerror(e));
  }
  addr_ = mmap(nullptr, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  int e = errno;
  close(fd);
  if (addr_ == MAP_FAILED) {
    addr_ = nullptr;
    throw Napi::Error::New(env, "mmap " + path + ": " + strerror(e));
  }
  bytes_ = (size_t)bytes;
  auto buffer = Napi::ArrayBuffer::New(env, addr_, bytes_, [](Napi::Env, void*) {});
  buffer_ = Napi::Persistent(buffer);
  Value().Set("buffer", buffer);
}

HostMapping::~HostMapping() { Unmap(); }

void HostMapping::Unmap() {
  if (!addr_) return;
  if (!buffer_.IsEmpty()) {
    buffer_.Value().Detach();
    buffer_.Reset();
  }
  munmap(addr_, bytes_);
  addr_ = nullptr;
}

Napi::Value HostMapping::Close(const Napi::CallbackInfo& info) {
  Unmap();
  return info.Env().Undefined();
}
