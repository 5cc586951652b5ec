// The Thunder service SDK, all of it: `#include <thunder/sdk/sdk.h>`.
// docs/guide/writing-a-service.md explains how to write a service; sdk/README.md maps the types
// to their headers. For other languages, the C API is <thunder/sdk/thunder_sdk.h>.
#pragma once

#include "thunder/sdk/connection.h"
#include "thunder/sdk/http.h"
#include "thunder/sdk/service.h"
#include "thunder/sdk/types.h"
