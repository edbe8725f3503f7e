// Prints every implementation the installed minidl registered (kernels/implementation.h).
#include <cstdio>

#include <minidl/kernels/implementation.h>

int main() { std::fputs(minidl::ops::registry_listing().c_str(), stdout); }
