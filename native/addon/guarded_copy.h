// guarded_copy.h - a copy that survives touching a mapping whose file was taken back (ra-spec §18.7).
#ifndef RAFABRIC_GUARDED_COPY_H
#define RAFABRIC_GUARDED_COPY_H

#include <napi.h>

// guardedCopy(target: Uint8Array, source: Uint8Array): boolean
Napi::Value GuardedCopy(const Napi::CallbackInfo& info);

#endif
