// A planted violation: the purity check must reject this file.
#pragma once
#include <chrono>
inline long long Now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }
