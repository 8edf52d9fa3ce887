// host_mapping.h - a file mapped MAP_SHARED and handed to JS as an external ArrayBuffer: the host
// buffers that an adapter's DMA engine reads and writes (ra-spec §11), and big adapter windows.
// At most 4 GiB per buffer; close() detaches then unmaps, and is idempotent (mapping.h).
#pragma once

#include <napi.h>

#include "mapping.h"

// new HostMapping(path, offset, bytes, create): see host_mapping.cc.
MappedRegion MapHostFile(const Napi::CallbackInfo& info);

using HostMapping = Mapping<MapHostFile>;
