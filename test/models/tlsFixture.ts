// A self-signed TLS certificate for `localhost` / 127.0.0.1 (EC P-256, valid until 2126), generated once
// with openssl for the HTTPS-through-proxy test. Test data only; never trusted outside tests.

/** Certificate (also the CA to trust). */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUYpO0zdNCMYNX6uUpOaoS/hPqGiMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNzExNDc1M1oYDzIxMjYxMTAz
MTE0NzUzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARs+LsooyiAcvxGOQQbep/5KBiYYKi3tq1GsIz571oLPQYw3+KXAWLi
jMnE3oWymqxt2TaYWB9TaEG/aOjA4FYMo28wbTAdBgNVHQ4EFgQU5hqyvV80IjI6
xCDyLBj+etbQx18wHwYDVR0jBBgwFoAU5hqyvV80IjI6xCDyLBj+etbQx18wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgaTqS5cDHK7UZrgzcALXsvqxg+cchhV7XoNo1r8W9zsgCIQD+
M9I0h2GyWNH+74bn9WA2e78bvtAUBtYQCnBSBm8sCQ==
-----END CERTIFICATE-----
`;

/** Its private key. */
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXi14IC/7YD5XA1YN
ocUKfMim1/chEfPMo4pfGPR+2HGhRANCAARs+LsooyiAcvxGOQQbep/5KBiYYKi3
tq1GsIz571oLPQYw3+KXAWLijMnE3oWymqxt2TaYWB9TaEG/aOjA4FYM
-----END PRIVATE KEY-----
`;
