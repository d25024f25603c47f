// libstdc++ 3.4.29 (GCC 11) added std::__throw_bad_array_new_length, which
// its headers now call from every allocator's size check (std::vector's
// growth among them); RHEL 8's libstdc++ is 3.4.25. The addon is built
// without exceptions, where libstdc++'s own __throw_* functions abort, so
// this one does the same, hidden: it binds inside the addon and is never
// exported. No header that declares it is included here, so this is its
// only declaration in this file and the visibility holds.
namespace std {
[[noreturn]] __attribute__((visibility("hidden"))) void __throw_bad_array_new_length();
[[noreturn]] void __throw_bad_array_new_length() { __builtin_abort(); }
}  // namespace std
