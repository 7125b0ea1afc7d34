def start(args, hkubeApi):
    # HKube's code API: starts another algorithm dynamically
    return hkubeApi.start_algorithm("echo", [1], includeResult=True)
