#include "host_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

// A JS Error whose `code` is the errno name callers branch on (ENOSPC: the file system is full).
static Napi::Error ErrnoError(Napi::Env env, int e, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message + ": " + strerror(e));
  err.Set("code", Napi::String::New(env, e == ENOSPC ? "ENOSPC" : e == EDQUOT ? "EDQUOT" : "EIO"));
  err.Set("errno", Napi::Number::New(env, e));
  return err;
}

// new HostMapping(path, offset, bytes, create): map [offset, offset+bytes) of the file at path.
// With create, the file is created (mode 0600) if missing and its blocks up to offset+bytes are
// reserved with posix_fallocate before mapping: a sparse file on a full file system would map fine
// and then kill the process with SIGBUS on first touch. If the space is not there the error has
// code ENOSPC (or EDQUOT) and a file this call created is removed.
MappedRegion MapHostFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "HostMapping(path, offset, bytes, create)");
  std::string path = info[0].As<Napi::String>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  int64_t bytes = info[2].As<Napi::Number>().Int64Value();
  bool create = info[3].ToBoolean();
  CheckMappingBytes(env, bytes);
  if (offset < 0 || offset % sysconf(_SC_PAGESIZE) != 0)
    throw Napi::RangeError::New(env, "mapping offset must be a non-negative multiple of the page size");
  bool created = false;
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
    created = fd >= 0;
  }
  if (fd < 0) throw Napi::Error::New(env, "open " + path + ": " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    if (created) unlink(path.c_str());
    throw ErrnoError(env, e, "fstat " + path);
  }
  if (st.st_size < offset + bytes) {
    if (!create) {
      close(fd);
      throw Napi::Error::New(env, path + " is smaller than the mapping");
    }
    int e = posix_fallocate(fd, 0, offset + bytes); // returns the error; errno is not set
    if (e != 0) {
      close(fd);
      if (created) unlink(path.c_str());
      throw ErrnoError(env, e, "reserving " + std::to_string(offset + bytes) + " bytes for " + path);
    }
  }
  void* addr = mmap(nullptr, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  int e = errno;
  close(fd);
  if (addr == MAP_FAILED) {
    if (created) unlink(path.c_str());
    throw Napi::Error::New(env, "mmap " + path + ": " + strerror(e));
  }
  return {addr, (size_t)bytes};
}
