// Overloaded: builds one visitor for std::visit from several lambdas. Internal helper.
#pragma once

namespace thunder::ledger {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Needed by compilers without aggregate class template argument deduction (clang 14).
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace thunder::ledger
