print("query benchmark: to be written")
