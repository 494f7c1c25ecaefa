#ifndef EXPORTGRID_CCRYPTO_SHIM_H
#define EXPORTGRID_CCRYPTO_SHIM_H

/* SHA-256 from OpenSSL's libcrypto (Debian's libssl-dev), through the EVP interface, which uses
   the CPU's SHA extensions when it has them. */
#include <openssl/evp.h>

#endif
