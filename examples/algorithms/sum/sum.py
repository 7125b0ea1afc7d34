def start(args):
    # input[0] is a list of numbers, e.g. the array a fan-in "@BatchNode" receives
    return sum(args['input'][0])
