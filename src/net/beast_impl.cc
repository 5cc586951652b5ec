// The compiled part of Boost.Beast (BOOST_BEAST_SEPARATE_COMPILATION), built once here.
#include <boost/beast/src.hpp>
