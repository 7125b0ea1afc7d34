def start(args):
    # what HKube's wrapper passes besides the input
    return {
        "input": args["input"],
        "batchIndex": args["batchIndex"],
        "nodeName": args["nodeName"],
        "algorithmName": args["algorithmName"],
        "pipelineName": args["pipelineName"],
        "jobId": args["jobId"],
        "taskId": args["taskId"],
        "extraData": args["info"]["extraData"],
        "keys": sorted(args),
    }
