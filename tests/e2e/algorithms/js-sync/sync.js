module.exports.start = (args) => ({
  sum: args.input[0].reduce((acc, cur) => acc + cur, 0),
  batchIndex: args.batchIndex,
  nodeName: args.nodeName,
});
