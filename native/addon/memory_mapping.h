// memory_mapping.h - adapter memory mapped by URI (ra_mem_map: "dax:///dev/dax0.0" inside a QEMU
// guest) and handed to JS as an external ArrayBuffer; close() detaches then unmaps, idempotent
// (mapping.h).
#pragma once

#include <napi.h>

#include "mapping.h"

// new MemoryMapping(uri, offset, bytes): see memory_mapping.cc.
MappedRegion MapAdapterMemory(const Napi::CallbackInfo& info);

using MemoryMapping = Mapping<MapAdapterMemory>;
