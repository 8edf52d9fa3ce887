// addon.cc - module entry: registers Device, HostMapping, MemoryMapping, WindowInterrupt and guardedCopy, and reports how the addon was built.
#include <napi.h>

#include "device.h"
#include "guarded_copy.h"
#include "host_mapping.h"
#include "memory_mapping.h"
#include "window_interrupt.h"

#define RAFABRIC_ADDON_VERSION "0.1.0"

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t napi_version = 0;
  napi_get_version(env, &napi_version);
  const napi_node_version* node = nullptr;
  napi_get_node_version(env, &node);
  auto out = Napi::Object::New(env);
  out.Set("addonVersion", RAFABRIC_ADDON_VERSION);
  out.Set("napiVersion", napi_version);           // what this Node offers
  out.Set("napiBuildVersion", NAPI_VERSION);      // what the addon was compiled against
  out.Set("nodeVersion", std::string(node->release) + " " + std::to_string(node->major) + "." +
                             std::to_string(node->minor) + "." + std::to_string(node->patch));
  out.Set("compiler", __VERSION__);
  out.Set("backends", Napi::String::New(env, "shm,pci,vfio,dax"));
  return out;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Device", Device::Init(env));
  exports.Set("HostMapping", HostMapping::Init(env, "HostMapping"));
  exports.Set("MemoryMapping", MemoryMapping::Init(env, "MemoryMapping"));
  exports.Set("WindowInterrupt", WindowInterrupt::Init(env));
  exports.Set("guardedCopy", Napi::Function::New(env, GuardedCopy));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  return exports;
}

NODE_API_MODULE(rafabric_native, Init)
