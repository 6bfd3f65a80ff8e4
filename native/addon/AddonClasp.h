#pragma once

#include "napi.h"

// Registers the clasp* exports (CLaSp layer skip, capture, DP and draft) on the addon's exports.
// Each takes node-llama-cpp's native AddonContext as its first argument.
void addonClaspInit(Napi::Object exports);
