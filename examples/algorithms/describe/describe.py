def start(args):
    # batchIndex is 1-based for batch items (reused from the parent item for wait-any), 0 otherwise
    return {"batchIndex": args["batchIndex"], "input": args["input"]}
