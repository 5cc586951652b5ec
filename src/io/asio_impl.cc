// The compiled part of Boost.Asio (BOOST_ASIO_SEPARATE_COMPILATION): built once, here, instead
// of in every translation unit that includes Asio.
#include <boost/asio/impl/src.hpp>
