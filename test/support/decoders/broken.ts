/** A page decode thread whose code fails to load: the pool must decode on the main thread instead. */
throw new Error("this decode thread cannot load")
