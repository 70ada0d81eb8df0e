// Stand-in for the Bison-generated "location.hh" that Kea's eval/parser.h includes and
// Debian's kea-dev 2.2 does not ship. Only used when the installed headers lack it (see
// build.rs). The shim never touches parser locations: it calls EvalContext::parseString, whose
// parser (and every use of locations) is compiled into libkea-eval. The layout follows Bison
// 3.8's (two positions of file name, line, column) so that any type a header names stays the
// same size as the library's.
#pragma once

#include <string>

namespace isc {
namespace eval {

class position {
public:
    const std::string* filename = nullptr;
    int line = 1;
    int column = 1;
};

class location {
public:
    position begin;
    position end;
};

} // namespace eval
} // namespace isc
