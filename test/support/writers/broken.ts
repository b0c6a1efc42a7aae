/** A lake writer thread whose code fails to load: the pool must fall back to writing on the main thread. */
throw new Error("this writer thread cannot load")
