/* Base64 inside libkube: the public API (kube/base64.h) is all there is. */
#ifndef KUBE_SRC_BASE64_H
#define KUBE_SRC_BASE64_H

#include <kube/base64.h>

#endif
