// The compiled parts of Boost.Beast (BOOST_BEAST_SEPARATE_COMPILATION) and of Asio's SSL layer
// (under BOOST_ASIO_SEPARATE_COMPILATION, which io/ sets; it needs OpenSSL, which io/ does not
// link), built once here.
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
