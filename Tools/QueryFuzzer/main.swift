// fuzzer: to be written
