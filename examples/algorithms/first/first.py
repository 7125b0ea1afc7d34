def start(args):
    return args['input'][0]
